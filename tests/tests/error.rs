//! `CoroutineError`: kinds, messages, sources, suppressed errors, identity.

use std::error::Error;
use std::time::Duration;

use scopes::{CoroutineError, ErrorKind};
use scopes_tests::TestError;

#[test]
fn each_kind_has_its_message() {
    assert_eq!(CoroutineError::failed(TestError("x")).to_string(), "x");
    assert_eq!(
        CoroutineError::panicked("p").to_string(),
        "coroutine panicked: p"
    );
    assert_eq!(
        CoroutineError::timed_out(Duration::from_millis(1500)).to_string(),
        "timed out after 1.5s"
    );
    let cause = CoroutineError::failed("root");
    let c = CoroutineError::cancelled("parent job is cancelling", Some(cause));
    assert_eq!(c.to_string(), "parent job is cancelling (caused by: root)");
    assert_eq!(c.kind(), ErrorKind::Cancelled);
    assert!(c.source().is_some());
}

#[test]
fn a_failure_wrapping_a_coroutine_error_keeps_it() {
    let inner = CoroutineError::timed_out(Duration::from_secs(1));
    let outer = CoroutineError::failed(inner.clone());
    assert!(
        outer.ptr_eq(&inner),
        "`?` on a CoroutineError keeps its kind and identity"
    );
    assert!(outer.is_timeout() && outer.is_failure());
}

#[test]
fn downcast_reaches_the_original_error() {
    let err = CoroutineError::failed(TestError("typed"));
    assert_eq!(err.downcast_ref::<TestError>(), Some(&TestError("typed")));
    assert!(err.downcast_ref::<std::io::Error>().is_none());
    assert!(
        CoroutineError::panicked("p")
            .downcast_ref::<TestError>()
            .is_none()
    );
}

#[test]
fn clones_are_the_same_error_and_share_suppressed() {
    let a = CoroutineError::failed("a");
    let b = a.clone();
    assert!(a.ptr_eq(&b));
    assert!(!a.ptr_eq(&CoroutineError::failed("a")));
    let dbg = format!("{a:?}");
    assert!(dbg.contains("Failed") && dbg.contains("\"a\""), "{dbg}");
}
