//! The door checks the record: an entry about one record does not open another.

use crate::service::RequestCtx;
use crate::service::access::{Export, Read, Reveal};
use crate::service::records::plaintext::{masked_view, payroll_line, reveal_body};
use crate::service::testing_support::{hr_and_payroll, new_record};

#[tokio::test(flavor = "multi_thread")]
async fn an_entry_about_one_record_does_not_open_another() {
    let (v, _dir, hr, pay) = hr_and_payroll().await;
    let ctx = RequestCtx::default();
    let a = new_record(&v, &hr, "E1", "123-45-6789").await;
    let b = new_record(&v, &hr, "E2", "123-45-6790").await;

    let grant = v.authorize::<Read>(&hr, &ctx, None, None).await.unwrap();
    let about_a = v.record_read_of(&hr, &a).await;
    assert!(masked_view(&v, &grant, &about_a, &a).is_ok());
    assert!(masked_view(&v, &grant, &about_a, &b).is_err());

    let reveal = v.authorize::<Reveal>(&hr, &ctx, None, None).await.unwrap();
    let fields = [crate::model::FieldName::Ssn];
    // A read entry about `a` is not a reveal entry: nothing in full comes out of it.
    assert!(reveal_body(&v, &reveal, &about_a, &a, &fields).is_err());

    let export = v.authorize::<Export>(&pay, &ctx, None, None).await.unwrap();
    let mut out = zeroize::Zeroizing::new(Vec::new());
    assert!(payroll_line(&v, &export, &about_a, &a, &mut out).is_err());
    assert!(out.is_empty());
}
