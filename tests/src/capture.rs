//! A small capturing `tracing` layer for the observability tests: every span with its parent
//! and fields, every event with its level, span and fields.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// A span as the layer saw it made.
#[derive(Clone, Debug)]
pub struct SpanRecord {
    /// Its number in creation order (the subscriber's ids are reused once a span closes).
    pub id: u64,
    /// The span's static name (`coroutine` for a coroutine).
    pub name: &'static str,
    pub parent: Option<u64>,
    pub fields: HashMap<String, String>,
    /// Spans it follows from.
    pub follows: Vec<u64>,
}

/// An event as the layer saw it.
#[derive(Clone, Debug)]
pub struct EventRecord {
    pub level: Level,
    /// The span it belongs to (explicit parent, else the current span).
    pub span: Option<u64>,
    pub fields: HashMap<String, String>,
}

impl EventRecord {
    pub fn message(&self) -> &str {
        self.fields.get("message").map_or("", String::as_str)
    }
}

#[derive(Default)]
struct Records {
    spans: Vec<SpanRecord>,
    events: Vec<EventRecord>,
}

/// What a test captured; cheap to clone.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Records>>);

impl Captured {
    /// Installs the layer for the current thread until the guard drops (run the test's
    /// coroutines on a current-thread runtime, so they run here).
    pub fn install() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(CaptureLayer(captured.clone()));
        let guard = tracing::subscriber::set_default(subscriber);
        (captured, guard)
    }

    pub fn spans(&self) -> Vec<SpanRecord> {
        self.0.lock().unwrap().spans.clone()
    }

    pub fn events(&self) -> Vec<EventRecord> {
        self.0.lock().unwrap().events.clone()
    }

    /// The span of the `launch` or `async_` whose `name` field is `name` (exactly one; a scope
    /// builder's span has its caller's name).
    pub fn coroutine(&self, name: &str) -> SpanRecord {
        let found: Vec<_> = self
            .spans()
            .into_iter()
            .filter(|s| {
                s.name == "coroutine"
                    && s.fields.get("name").map(String::as_str) == Some(name)
                    && matches!(s.fields["kind"].as_str(), "launch" | "async_")
            })
            .collect();
        assert_eq!(found.len(), 1, "one coroutine span named {name}: {found:?}");
        found.into_iter().next().unwrap()
    }

    /// The span with this id.
    pub fn span(&self, id: u64) -> SpanRecord {
        self.spans()
            .into_iter()
            .find(|s| s.id == id)
            .expect("a span with that id")
    }

    /// The events at `level`.
    pub fn at(&self, level: Level) -> Vec<EventRecord> {
        self.events()
            .into_iter()
            .filter(|e| e.level == level)
            .collect()
    }
}

struct CaptureLayer(Captured);

/// A span's number in creation order, kept in its extensions.
struct Seq(u64);

fn seq<S>(ctx: &Context<'_, S>, id: &Id) -> Option<u64>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.span(id)?.extensions().get::<Seq>().map(|s| s.0)
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S> Layer<S> for CaptureLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let span = ctx.span(id).expect("a new span is in the registry");
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<Seq>().map(|s| s.0));
        let mut records = self.0.0.lock().unwrap();
        let number = records.spans.len() as u64;
        span.extensions_mut().insert(Seq(number));
        records.spans.push(SpanRecord {
            id: number,
            name: attrs.metadata().name(),
            parent,
            fields: fields.0,
            follows: Vec::new(),
        });
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        let (Some(span), Some(follows)) = (seq(&ctx, span), seq(&ctx, follows)) else {
            return;
        };
        let mut records = self.0.0.lock().unwrap();
        records.spans[span as usize].follows.push(follows);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx
            .event_span(event)
            .and_then(|s| s.extensions().get::<Seq>().map(|s| s.0));
        self.0.0.lock().unwrap().events.push(EventRecord {
            level: *event.metadata().level(),
            span,
            fields: fields.0,
        });
    }
}
