//! Trust in reports over the API: an inactive tenant's report jobs and questions are refused
//! with its status named, a report shows how its delivery stands, `/metrics` counts deliveries
//! a person must look at, and a re-send is the only way an unknown or failed one goes out again.

use serde_json::json;
use synkro_core::{
    domain::{TenantStatus, TenantUpdate},
    store::DeliveryState,
    time::Timestamp,
};

use crate::support::World;

synkro_core::on_both_backends!(
    start = crate::support::World::start;
    an_inactive_tenant_is_refused_naming_its_status,
    a_report_shows_its_delivery_and_can_be_resent
);

async fn an_inactive_tenant_is_refused_naming_its_status(w: &World) {
    let t = w.cast.acme.id.as_uuid();
    let tadmin = w.login("tadmin").await;
    let paused =
        w.call("PATCH", &format!("/api/v1/tenants/{t}"), Some(&tadmin), Some(json!({"status": "paused"})), &[]).await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    let plain = w.login("plain").await;
    let job = w.call("POST", &format!("/api/v1/tenants/{t}/jobs"), Some(&plain), Some(json!({})), &[]).await;
    assert_eq!((job.status, job.json()["code"].clone()), (409, json!("tenant_inactive")), "{}", job.text);
    assert!(job.json()["message"].as_str().unwrap().contains("paused"), "{}", job.text);
    let r = w.cast.acme_report.id.as_uuid();
    let body = json!({"question": "How were sales?"});
    let asked = w.call("POST", &format!("/api/v1/reports/{r}/questions"), Some(&plain), Some(body), &[]).await;
    assert_eq!((asked.status, asked.json()["code"].clone()), (409, json!("tenant_inactive")), "{}", asked.text);
    assert!(w.sandbox.requests(synkro_sandbox::Service::Amocrm).is_empty(), "nothing reached amoCRM");
}

async fn a_report_shows_its_delivery_and_can_be_resent(w: &World) {
    let report = &w.cast.acme_report;
    let now = Timestamp::now();
    w.store.begin_delivery(report.id, report.job_id, "telegram", now, false).await.unwrap();
    w.store.finish_delivery(report.id, DeliveryState::Failed, 0, Some("telegram: chat not found"), now).await.unwrap();

    let plain = w.login("plain").await;
    let r = report.id.as_uuid();
    let view = w.get(&format!("/api/v1/reports/{r}"), Some(&plain)).await.json();
    assert_eq!(view["delivery"]["state"], "failed");
    assert_eq!(view["delivery"]["needs_attention"], true);
    assert_eq!(view["delivery"]["error"], "telegram: chat not found");
    let metrics = w.get("/metrics", None).await.text;
    assert!(metrics.contains("synkro_report_deliveries{state=\"failed\"} 1"), "{metrics}");

    let lite = w.login("lite").await;
    let resend = w.call("POST", &format!("/api/v1/reports/{r}/resend"), Some(&lite), None, &[]).await;
    assert_eq!(resend.status, 200, "{}", resend.text);
    assert_eq!(resend.json()["job_type"], "report_delivery");
    assert!(w.audit().await.iter().any(|a| a.action == "report.resend"), "who asked is audited");

    // A delivered report is not sent again.
    let other = &w.cast.other_report;
    w.store.begin_delivery(other.id, other.job_id, "telegram", now, false).await.unwrap();
    w.store.finish_delivery(other.id, DeliveryState::Sent, 1, None, now).await.unwrap();
    let root = w.login("root").await;
    let o = other.id.as_uuid();
    let again = w.call("POST", &format!("/api/v1/reports/{o}/resend"), Some(&root), None, &[]).await;
    assert_eq!((again.status, again.json()["code"].clone()), (409, json!("delivery_not_resendable")), "{}", again.text);

    // Pausing the tenant stops re-sends too.
    let update = TenantUpdate { status: Some(TenantStatus::Disabled), ..Default::default() };
    w.store.update_tenant(w.cast.acme.id, &update).await.unwrap();
    let refused = w.call("POST", &format!("/api/v1/reports/{r}/resend"), Some(&lite), None, &[]).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert!(refused.text.contains("disabled"), "{}", refused.text);
}
