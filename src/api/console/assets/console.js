// hrvault console. The only script: loaded from /ui/assets (CSP script-src 'self'), no inline
// handlers. Everything works without it except the masking countdown, which a
// <meta http-equiv="refresh"> backs up.
"use strict";

// Revealed values: after data-reveal-seconds, every [data-secret] is replaced by its
// data-mask text and the countdown says the values are hidden again.
function hideRevealed(box) {
  box.querySelectorAll("[data-secret]").forEach(function (el) {
    el.textContent = el.getAttribute("data-mask") || "hidden";
    el.removeAttribute("data-secret");
    el.classList.remove("secret");
  });
  var status = box.querySelector("[data-countdown]");
  if (status) {
    status.textContent = "The values are hidden again.";
  }
  box.setAttribute("data-revealed", "false");
}

function startReveal(box) {
  var seconds = parseInt(box.getAttribute("data-reveal-seconds"), 10);
  if (!(seconds > 0)) {
    return;
  }
  var status = box.querySelector("[data-countdown]");
  var left = seconds;
  var timer = setInterval(function () {
    left -= 1;
    if (left <= 0) {
      clearInterval(timer);
      hideRevealed(box);
    } else if (status) {
      status.textContent = "Shown for " + left + " more seconds.";
    }
  }, 1000);
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-reveal-seconds]").forEach(startReveal);
  // Put the keyboard focus on the first field that the server marked invalid.
  var bad = document.querySelector("[aria-invalid='true']");
  if (bad) {
    bad.focus();
  }
});
