//! The report examples in docs/report-examples.md are real: this test runs the sandbox's day in
//! Russian and in English, once with the sandbox's AI and once with the AI failing (the report
//! written by rules), and checks the file holds exactly the Telegram messages Synkro sent.
//! `SYNKRO_BLESS=1 cargo test --test pipeline examples` rewrites the file after a change.

use synkro::domain::{Language, ReportMode, RuntimeConfigChange};
use synkro_sandbox::{Fault, SandboxConfig, Service, TenantSetup};

use super::{run_day, setup, tenant, world};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report-examples.md");

const HEADER: &str = "\
# Report examples

Real output, not mock-ups: `tests/pipeline/examples.rs` runs the sandbox's day (its fake amoCRM,
Radist and AI; mode `crm_chats`) and this file holds exactly the Telegram messages Synkro sent.
The test fails when Synkro's output changes and the file does not; `SYNKRO_BLESS=1 cargo test
--test pipeline examples` writes the new output here.

Each report exists in both languages (`language` in the runtime config: `ru`, the default, or
`en`), written by the AI and, when the AI is unavailable, by Synkro's rules from the measured
analytics. The sandbox's fake AI writes its report from the context Synkro gives it, so its
numbers are the analytics' numbers. The deals and managers are the sandbox's Russian data in both
languages.
";

#[tokio::test]
async fn the_documented_report_examples_are_what_synkro_writes() {
    let store = synkro::testing::sqlite().await;
    let w = world(&store, SandboxConfig::default()).await;
    let mut doc = HEADER.to_owned();
    let chat = w.sandbox.credentials().telegram_chat_id;
    let cases = [
        (Language::Ru, false, "Russian: the AI's report"),
        (Language::Ru, true, "Russian: written by rules (the AI was unavailable)"),
        (Language::En, false, "English: the AI's report"),
        (Language::En, true, "English: written by rules (the AI was unavailable)"),
    ];
    for (i, (language, ai_fails, title)) in cases.into_iter().enumerate() {
        // A tenant per case: a window's report runs once per tenant.
        let setup = TenantSetup { name: "Acme".into(), slug: format!("acme-{i}"), ..setup(ReportMode::CrmChats) };
        let t = tenant(&w, setup).await;
        let change = RuntimeConfigChange { language: Some(language), ..Default::default() };
        w.service.update_runtime_config(t.id, change).await.unwrap();
        if ai_fails {
            w.sandbox.inject(Service::OpenAi, "chat/completions", Fault::Status(500), 100);
        }
        let job = run_day(&w, &t).await;
        w.sandbox.clear_faults();
        let report = super::report_of(&store, &job).await;
        assert_eq!(report.ai.as_ref().map(|ai| ai.fallback), Some(ai_fails), "{report:?}");
        let sent = w.sandbox.telegram_sent();
        let message = sent.iter().rev().find(|m| m.chat_id == chat && m.text.starts_with(&t.name)).unwrap();
        doc.push_str(&format!("\n## {title}\n\n```text\n{}\n```\n", message.text));
    }
    if std::env::var("SYNKRO_BLESS").as_deref() == Ok("1") {
        std::fs::write(FILE, &doc).unwrap();
    }
    let documented = std::fs::read_to_string(FILE).unwrap_or_default();
    assert!(
        documented == doc,
        "docs/report-examples.md is not what Synkro writes now; rerun with SYNKRO_BLESS=1 and review the diff.\n{doc}"
    );
    store.finish().await;
}
