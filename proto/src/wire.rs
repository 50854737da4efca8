//! The protocol in one place: the JSON shapes the server sends and every client parses.
//!
//! The server encodes an event once (see [`crate::feed`]) and hands the same bytes to every
//! transport; the load generator, the benches and the tests decode with these same types, so
//! the two sides can never disagree on the format. Every message carries `type` so that a
//! WebSocket or SSE reader can tell a snapshot (first message, or a resync) from an event.

use serde::{Deserialize, Serialize};

/// What happened in a match. The simulated feed keeps the counts per 90 minutes of
/// football (about 2.5 goals a match) whatever its event rate: at a high rate most events are
/// `minute` and `possession`, at a low one nearly every event is notable and minutes jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new match starts at 0–0.
    KickOff,
    /// The match clock moved on (by one minute, or more when events are sparse).
    Minute,
    /// A goal; `team` says for whom.
    Goal,
    /// A shot that did not score; `team` says whose.
    Shot,
    /// A corner kick; `team` says for whom.
    Corner,
    /// A yellow card; `team` says against whom.
    Card,
    /// A player replaced by another (at most five a side, in the second half); `team` says
    /// which side.
    Substitution,
    /// The ball changed hands; `team` now has it. Nothing else changed: the most common
    /// kind when the rate is high.
    Possession,
    /// The first half is over; the match pauses.
    HalfTime,
    /// The second half kicks off.
    SecondHalf,
    /// The match is over; a new one kicks off later on the same pitch.
    FullTime,
}

/// Which side of a match an event concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Home,
    Away,
}

/// Whether a match is being played.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    Live,
    /// Between the halves.
    HalfTime,
    Finished,
}

/// One match as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchState {
    pub id: u32,
    pub home: String,
    pub away: String,
    pub home_goals: u32,
    pub away_goals: u32,
    pub minute: u32,
    pub status: MatchStatus,
}

/// One score event, exactly as it travels on every transport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Always `"event"`.
    #[serde(rename = "type")]
    pub kind_tag: MessageType,
    /// Contiguous from 1 within an epoch, never reused.
    pub seq: u64,
    /// Publication time, microseconds since the Unix epoch, taken once when the event is made.
    pub ts_us: u64,
    /// The feed's id, fixed at server start: a changed epoch means a restart, not a gap.
    pub epoch: u64,
    pub match_id: u32,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Side>,
    /// The match's state after this event.
    #[serde(rename = "match")]
    pub state: MatchState,
    /// Padding so that the event's JSON reaches `--payload-bytes`; absent when not needed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pad: String,
}

/// The full state of the feed: what short polling fetches, and the first WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always `"snapshot"`.
    #[serde(rename = "type")]
    pub kind_tag: MessageType,
    pub epoch: u64,
    /// The latest event's seq (0 before the first event).
    pub seq: u64,
    /// Publication time of the latest event (0 before the first event).
    pub ts_us: u64,
    pub matches: Vec<MatchState>,
}

/// The `type` field of every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Event,
    Snapshot,
}

/// Any message a push transport (WebSocket, SSE) sends.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum PushMessage {
    Event(Event),
    Snapshot(Snapshot),
}

/// `GET /api/events?since=S` answer: every event after `S`, in order, and the cursor to ask
/// with next time.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventsPage {
    pub epoch: u64,
    pub events: Vec<Event>,
    pub next: u64,
}

/// `410 Gone` answer: the cursor cannot be served from the ring; start again from here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gone {
    pub error: String,
    pub snapshot: Snapshot,
}

/// Body of every 4xx/5xx answer the server composes itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
}

/// The four fields every client needs of an event or a snapshot, parsed without building the
/// rest (the match, the padding): what a load generator with thousands of clients reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Head {
    #[serde(rename = "type")]
    pub kind: MessageType,
    pub seq: u64,
    pub ts_us: u64,
    pub epoch: u64,
}

/// An [`EventsPage`] with only each event's [`Head`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventsPageHead {
    pub epoch: u64,
    pub events: Vec<Head>,
    pub next: u64,
}

/// Parses the [`Head`] of an event, a snapshot, or a push message.
pub fn parse_head(text: &[u8]) -> Result<Head, serde_json::Error> {
    serde_json::from_slice(text)
}

/// Parses the message of a push transport (a WebSocket text frame or an SSE `data:` field).
pub fn parse_push(text: &[u8]) -> Result<PushMessage, serde_json::Error> {
    serde_json::from_slice(text)
}

/// Parses a quoted `ETag` (`"42"`) back to the seq it names.
pub fn parse_etag(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    let v = v.strip_prefix('"')?.strip_suffix('"')?;
    // An encoded representation's tag is `"<seq>-<coding>"` ([`crate::encoding::etag`]).
    v.split_once('-').map_or(v, |(seq, _)| seq).parse().ok()
}

/// The `ETag` value for a snapshot at `seq`: the seq, quoted.
pub fn etag(seq: u64) -> String {
    format!("\"{seq}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_round_trips() {
        let t = etag(42);
        assert_eq!(t, "\"42\"");
        assert_eq!(parse_etag(&t), Some(42));
        assert_eq!(parse_etag("W/\"42\""), Some(42));
        assert_eq!(parse_etag("42"), None);
    }

    #[test]
    fn heads_carry_the_fields_clients_need() {
        let ev = br#"{"type":"event","seq":3,"ts_us":5,"epoch":1,"match_id":0,"kind":"goal","team":"home",
            "match":{"id":0,"home":"A","away":"B","home_goals":1,"away_goals":0,"minute":3,"status":"live"},"pad":"xx"}"#;
        let h = parse_head(ev).expect("head");
        assert_eq!(h, Head { kind: MessageType::Event, seq: 3, ts_us: 5, epoch: 1 });
        let snap = br#"{"type":"snapshot","epoch":1,"seq":9,"ts_us":7,"matches":[]}"#;
        assert_eq!(parse_head(snap).expect("head").kind, MessageType::Snapshot);
        assert!(parse_head(br#"{"type":"event","seq":"x"}"#).is_err());
    }

    #[test]
    fn push_messages_are_told_apart_by_type() {
        let snap = r#"{"type":"snapshot","epoch":1,"seq":0,"ts_us":0,"matches":[]}"#;
        assert!(matches!(parse_push(snap.as_bytes()), Ok(PushMessage::Snapshot(_))));
        let ev = r#"{"type":"event","seq":3,"ts_us":5,"epoch":1,"match_id":0,"kind":"goal","team":"home",
            "match":{"id":0,"home":"A","away":"B","home_goals":1,"away_goals":0,"minute":3,"status":"live"}}"#;
        match parse_push(ev.as_bytes()) {
            Ok(PushMessage::Event(e)) => {
                assert_eq!(e.seq, 3);
                assert_eq!(e.team, Some(Side::Home));
                assert_eq!(e.state.home_goals, 1);
            }
            other => panic!("not an event: {other:?}"),
        }
    }

    #[test]
    fn kinds_and_statuses_are_snake_case_on_the_wire() {
        let kinds = [
            (EventKind::KickOff, "kick_off"),
            (EventKind::Minute, "minute"),
            (EventKind::Goal, "goal"),
            (EventKind::Shot, "shot"),
            (EventKind::Corner, "corner"),
            (EventKind::Card, "card"),
            (EventKind::Substitution, "substitution"),
            (EventKind::Possession, "possession"),
            (EventKind::HalfTime, "half_time"),
            (EventKind::SecondHalf, "second_half"),
            (EventKind::FullTime, "full_time"),
        ];
        for (kind, name) in kinds {
            let json = serde_json::to_string(&kind).expect("serialises");
            assert_eq!(json, format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<EventKind>(&json).expect("parses back"), kind);
        }
        let ht = serde_json::to_string(&MatchStatus::HalfTime).expect("serialises");
        assert_eq!(ht, "\"half_time\"");
    }
}
