//! Conversation analytics: facts Synkro measures in a report's dialogs (issue 13), computed by
//! `synkro_pipeline::analytics`. Durations are whole seconds.

use serde::{Deserialize, Serialize};

/// The day's conversation figures, per manager and per stage, and the worst cases by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Analytics {
    /// The whole window.
    pub day: DayFigures,
    /// One entry per responsible manager, by name.
    pub managers: Vec<ManagerFigures>,
    /// One entry per stage, by name; empty in `chats_only` (chats have no stages).
    pub stages: Vec<StageFigures>,
    /// Clients waiting for an answer at the end of the window, longest wait first (capped).
    pub waiting: Vec<WaitingClient>,
    /// The slowest first responses in the window, slowest first (capped).
    pub slowest: Vec<SlowResponse>,
    /// The window hour by hour (a longer window in spans of several hours, at most 48 spans):
    /// dialogs and messages in each. Empty in reports made before it was measured.
    #[serde(default)]
    pub hours: Vec<HourFigures>,
}

/// One span of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourFigures {
    /// When the span starts.
    pub start: crate::time::Timestamp,
    /// Dialogs with at least one message in the span.
    pub dialogs: u64,
    /// Messages in the span, both ways.
    pub messages: u64,
}

/// Figures of the whole window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayFigures {
    /// Rows in the report: deals updated in the window (`crm_only`), deals with messages in
    /// the window (`crm_chats`), chats (`chats_only`).
    pub deals: u64,
    /// Deals the CRM reported updated in the window, dialog or not (`None` in `chats_only`).
    #[serde(default)]
    pub deals_updated: Option<u64>,
    /// `crm_chats` only: chats active in the window whose phone matched none of the deals
    /// updated in the window (counted from the chat list; their messages are not read). Such a
    /// client may still have an older deal the window did not touch.
    #[serde(default)]
    pub dialogs_without_deal: Option<u64>,
    /// Of those, with at least one message in the window.
    pub deals_with_dialogs: u64,
    /// Messages from clients.
    pub inbound_messages: u64,
    /// Messages from managers.
    pub outbound_messages: u64,
    /// Files managers sent.
    pub files_sent: u64,
    /// Clients whose last message in the window was not answered.
    pub clients_waiting: u64,
    /// First responses measured (a client's turn answered by a manager).
    pub responses: u64,
    /// Median first response, when any was measured.
    pub first_response_median_secs: Option<u64>,
    /// 90th percentile first response, when any was measured.
    pub first_response_p90_secs: Option<u64>,
}

/// One manager's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerFigures {
    /// The manager (`(unassigned)` when the deal has none).
    pub manager: String,
    /// Deals with a dialog in the window.
    pub dialogs: u64,
    /// Messages in their dialogs, both ways.
    pub messages: u64,
    /// Median first response.
    pub first_response_median_secs: Option<u64>,
    /// 90th percentile first response.
    pub first_response_p90_secs: Option<u64>,
    /// Their clients waiting at the end of the window.
    pub clients_waiting: u64,
}

/// One stage's figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageFigures {
    /// The stage (`(no stage)` when unknown).
    pub stage: String,
    /// Deals in it.
    pub deals: u64,
    /// Deals whose dialog went quiet: the manager wrote last, and the client has not answered
    /// for at least 4 hours before the window ended.
    pub quiet: u64,
}

/// A client left waiting at the end of the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingClient {
    /// The deal (negative for a chat without a deal).
    pub deal_id: i64,
    /// Its name.
    pub deal_name: String,
    /// Its manager.
    pub manager: String,
    /// How long the client has waited, from their first unanswered message to the window's end.
    pub waiting_secs: u64,
}

/// A slow first response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowResponse {
    /// The deal.
    pub deal_id: i64,
    /// Its name.
    pub deal_name: String,
    /// Its manager.
    pub manager: String,
    /// From the client's first message of their turn to the manager's answer.
    pub response_secs: u64,
}
