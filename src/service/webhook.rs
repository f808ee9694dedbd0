//! Delivers each new alert once to `monitor.alert_webhook`: a signed JSON POST, retried with
//! exponential backoff, from a durable outbox (an alert raised just before a crash is delivered
//! after the restart). Never on a user's request path: a slow or dead receiver delays nothing
//! but its own deliveries. Failures are logged and counted (`hrvault_webhook_failures_total`).
//! `http://` and `https://` receivers; TLS trusts the system roots (Mozilla's, compiled in) plus
//! `monitor.alert_webhook_ca_file`, and verifies the receiver's name like any TLS client.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::ExposeSecret;

use super::Vault;
use super::alerts::AlertView;
use crate::model::AlertId;
use crate::monitor::webhook_signature;

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

type HttpClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// An HTTP/1.1 client for `http://` and `https://` receivers.
fn client(ca_file: Option<&std::path::Path>) -> Result<HttpClient, crate::tls::TlsError> {
    let tls = crate::tls::client_config(ca_file)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

impl Vault {
    async fn deliver(
        &self,
        client: &HttpClient,
        url: &str,
        secret: &[u8],
        id: &AlertId,
    ) -> Result<(), String> {
        let Some(alert) = self.inner.store.alert(id).map_err(|e| e.to_string())? else {
            return Ok(()); // nothing left to deliver
        };
        let body = serde_json::to_vec(&AlertView::of(&alert.value)).map_err(|e| e.to_string())?;
        let request = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("hrvault/", env!("CARGO_PKG_VERSION")))
            .header("x-hrvault-alert-id", id.to_string())
            .header("x-hrvault-signature", webhook_signature(secret, &body))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("receiver answered {}", response.status()))
        }
    }
}

/// Starts the delivery task if a webhook is configured.
pub(crate) fn spawn_webhook(vault: &Vault) {
    let (Some(url), Some(secret)) = (
        vault.inner.settings.monitor.alert_webhook.clone(),
        vault.inner.settings.monitor.alert_webhook_secret.clone(),
    ) else {
        return;
    };
    let client = match client(
        vault
            .inner
            .settings
            .monitor
            .alert_webhook_ca_file
            .as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => {
            // `serve` checked the file before unsealing; it changed since. Alerts stay in the
            // durable outbox and go out after a restart with a readable file.
            tracing::error!(error = %e, "alert webhook disabled: its TLS set-up failed");
            return;
        }
    };
    let v = vault.clone();
    tokio::spawn(async move {
        let mut retry_at: HashMap<AlertId, (Instant, Duration)> = HashMap::new();
        // A duty: in a store one node at a time sends (`service::duty`). A node that loses the
        // lease in the middle of a delivery may have sent an alert the next holder sends again:
        // delivery is at least once, and receivers de-duplicate by `alert_id`.
        let mut duty = v.duty(super::duty::WEBHOOK);
        loop {
            if !duty.hold() {
                tokio::time::sleep(super::duty::STANDBY_POLL).await;
                continue;
            }
            let outbox = match v.inner.store.webhook_outbox() {
                Ok(o) => o,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the webhook outbox");
                    Vec::new()
                }
            };
            retry_at.retain(|id, _| outbox.contains(id));
            for id in outbox {
                if !duty.hold() {
                    break;
                }
                if retry_at
                    .get(&id)
                    .is_some_and(|(at, _)| *at > Instant::now())
                {
                    continue;
                }
                match v
                    .deliver(&client, &url, secret.expose_secret().as_bytes(), &id)
                    .await
                {
                    Ok(()) => {
                        if let Err(e) = v.inner.store.webhook_delivered(&id) {
                            tracing::error!(error = %e, alert_id = %id, "cannot mark a webhook delivered");
                        }
                        retry_at.remove(&id);
                        v.inner.metrics.webhook_delivered.inc();
                    }
                    Err(why) => {
                        v.inner.metrics.webhook_failures.inc();
                        let backoff = retry_at
                            .get(&id)
                            .map_or(Duration::from_secs(1), |(_, b)| (*b * 2).min(MAX_BACKOFF));
                        tracing::warn!(alert_id = %id, error = %why, retry_in_s = backoff.as_secs(), "alert webhook delivery failed");
                        retry_at.insert(id, (Instant::now() + backoff, backoff));
                    }
                }
            }
            let _ =
                tokio::time::timeout(Duration::from_secs(1), v.inner.webhook_wake.notified()).await;
        }
    });
}
