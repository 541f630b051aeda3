//! Guides: the model behind `scopes`, one chapter per concept. Each chapter's examples are
//! doc tests, run by `cargo test`.
//!
//! 1. [From Kotlin](from_kotlin): the names of kotlinx.coroutines and where `scopes`
//!    deliberately differs.
//! 2. [The job tree](job_tree): states, failure up and cancellation down, supervisors, and who
//!    reports a failure.
//! 3. [Cancellation and cleanup](cancellation): where a body stops, `NonCancellable`,
//!    `try_finally`, and coroutines cancelled before they start.
//! 4. [Dispatchers](dispatchers): which threads run a coroutine, views, contracts, your own
//!    runtime.
//! 5. [Testing](testing): virtual time and one scheduler per test (feature `test-util`).
//! 6. [Shutting down a service](shutdown): a grace period, a report, a signal.
//! 7. [Flows](flows): hot values and streams in a scope.
//! 8. [Observability](observability): spans, events, dumps and panics.

// Each chapter is a Markdown file beside this one, so its prose and examples read as a page.
// Links to items behind a feature are defined per feature (`cfg_attr`), so the docs build
// without it too.

pub mod from_kotlin {
    #![doc = include_str!("from_kotlin.md")]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod job_tree {
    #![doc = include_str!("job_tree.md")]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod cancellation {
    #![doc = include_str!("cancellation.md")]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod dispatchers {
    #![doc = include_str!("dispatchers.md")]
    #![cfg_attr(
        feature = "test-util",
        doc = "",
        doc = "[`scopes::test`]: mod@crate::test"
    )]
    #![cfg_attr(
        not(feature = "test-util"),
        doc = "",
        doc = "[`scopes::test`]: https://docs.rs/scopes/latest/scopes/test/index.html"
    )]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod testing {
    #![doc = include_str!("testing.md")]
    #![cfg_attr(
        feature = "test-util",
        doc = "",
        doc = "[`scopes::test`]: mod@crate::test"
    )]
    #![cfg_attr(
        not(feature = "test-util"),
        doc = "",
        doc = "[`scopes::test`]: https://docs.rs/scopes/latest/scopes/test/index.html"
    )]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod shutdown {
    #![doc = include_str!("shutdown.md")]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod flows {
    #![doc = include_str!("flows.md")]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}

pub mod observability {
    #![doc = include_str!("observability.md")]
    #[allow(unused_imports)] // the names the chapter links to
    use crate::*;
}
