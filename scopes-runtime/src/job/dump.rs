//! The live tree under a job, as text ([`Job::dump`]) and as data ([`Job::snapshot`]).
//!
//! Both are linear in the number of jobs and constant in stack, however deep the tree: they
//! walk it with an explicit stack, and the text caps its indentation (a 100,000-deep chain
//! would otherwise repeat its indentation into gigabytes).

use std::fmt;

use super::{Job, JobState, Link};
use crate::context::CoroutineName;
use crate::debug::CoroutineId;
use crate::dispatcher::Dispatcher;

/// The deepest level that is indented; deeper lines say their depth instead.
const MAX_INDENT: usize = 32;

/// One job of a [`Job::snapshot`], with its live children: what [`Job::dump`] prints.
///
/// ```
/// use scopes_runtime::{Job, JobState};
///
/// let root = Job::new();
/// let child = Job::child_of(&root);
/// let snapshot = root.snapshot();
/// assert_eq!(snapshot.kind, "Job");
/// assert_eq!(snapshot.state, JobState::Active);
/// assert_eq!(snapshot.children.len(), 1);
/// assert_eq!(snapshot.to_string(), "Job{Active}\n  Job{Active}\n");
/// # drop(child);
/// ```
///
/// With the `serde` feature it is `serde::Serialize`, as
/// `{ "name", "id", "kind", "state", "dispatcher", "children": [..] }` (the state as its variant
/// name). Serializers recurse: on a 2 MiB thread, `serde_json` overflows at about 3,000 levels
/// in a debug build and 20,000 in release (see [the limits](crate::observability#limits); the
/// snapshot, its text and its drop do not recurse).
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct JobSnapshot {
    /// The coroutine's `CoroutineName`, if it has one.
    pub name: Option<String>,
    /// The coroutine's `CoroutineId`: in debug mode, or while `tracing` coroutine spans are
    /// enabled (the `tracing` feature with a subscriber at `INFO` or finer).
    pub id: Option<u64>,
    /// kotlinx's class names: `StandaloneCoroutine` (`launch`), `DeferredCoroutine` (`async_`),
    /// `ScopeCoroutine`, `SupervisorCoroutine`, `Job`, `SupervisorJob`.
    pub kind: &'static str,
    /// The state when the snapshot was taken.
    pub state: JobState,
    /// Where it runs (`Dispatchers.IO`, ...), if its context names a dispatcher or its parent's
    /// does.
    pub dispatcher: Option<String>,
    /// Its children that had not finished, oldest first.
    pub children: Vec<JobSnapshot>,
    /// Its dispatcher differs from its parent's (the text says where it runs then).
    #[cfg_attr(feature = "serde", serde(skip))]
    moved: bool,
    /// The text of the job as `Debug` shows it.
    #[cfg_attr(feature = "serde", serde(skip))]
    line: String,
}

impl Job {
    /// The live tree under this job, one line per job, indented two spaces per level (up to 32
    /// levels; deeper lines start with their depth); a coroutine whose dispatcher differs from
    /// its parent's says where it runs:
    ///
    /// ```text
    /// SupervisorJob{Active}
    ///   "loader"#3 StandaloneCoroutine{Active} on Dispatchers.IO
    ///     "page 1"#4 StandaloneCoroutine{Completing}
    /// ```
    pub fn dump(&self) -> String {
        self.snapshot().to_string()
    }

    /// The live tree under this job as data: see [`JobSnapshot`].
    pub fn snapshot(&self) -> JobSnapshot {
        // Pre-order, with each node's parent index; then children are moved into their parents
        // from the last node back, so every subtree is whole when it moves.
        let mut flat: Vec<(Option<usize>, JobSnapshot)> = Vec::new();
        let mut stack: Vec<(Link, Option<usize>, Option<Dispatcher>)> =
            vec![(self.link.clone(), None, None)];
        while let Some((link, parent, parent_dispatcher)) = stack.pop() {
            let own = link.inner.context.get::<Dispatcher>().cloned();
            let moved = match (&own, &parent_dispatcher) {
                (Some(own), Some(parent)) => !parent.same_as(own),
                (Some(_), None) => true,
                (None, _) => false,
            };
            let dispatcher = own.or(parent_dispatcher);
            let index = flat.len();
            flat.push((
                parent,
                JobSnapshot {
                    name: link
                        .inner
                        .context
                        .get::<CoroutineName>()
                        .map(ToString::to_string),
                    id: link.inner.context.get::<CoroutineId>().map(|id| id.0),
                    kind: link.inner.kind.name(),
                    state: link.state(),
                    dispatcher: dispatcher.as_ref().map(ToString::to_string),
                    children: Vec::new(),
                    moved,
                    line: format!("{link:?}"),
                },
            ));
            let children = link.children();
            stack.extend(
                children
                    .into_iter()
                    .rev()
                    .map(|c| (c, Some(index), dispatcher.clone())),
            );
        }
        while flat.len() > 1 {
            let (parent, node) = flat.pop().expect("more than one");
            let parent = parent.expect("only the first node has no parent");
            flat[parent].1.children.push(node);
        }
        let (_, mut root) = flat.pop().expect("the root");
        // Children were moved in last-first.
        let mut order = vec![&mut root];
        while let Some(node) = order.pop() {
            node.children.reverse();
            order.extend(node.children.iter_mut());
        }
        root
    }
}

impl fmt::Display for JobSnapshot {
    /// The text of [`Job::dump`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let indent = "  ".repeat(MAX_INDENT);
        let mut stack = vec![(self, 0usize)];
        while let Some((node, depth)) = stack.pop() {
            f.write_str(&indent[..2 * depth.min(MAX_INDENT)])?;
            if depth > MAX_INDENT {
                write!(f, "[depth {depth}] ")?;
            }
            f.write_str(&node.line)?;
            if let (true, Some(dispatcher)) = (node.moved, &node.dispatcher) {
                write!(f, " on {dispatcher}")?;
            }
            f.write_str("\n")?;
            stack.extend(node.children.iter().rev().map(|c| (c, depth + 1)));
        }
        Ok(())
    }
}

impl fmt::Debug for JobSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Drop for JobSnapshot {
    /// One level at a time, so a deep tree does not recurse.
    fn drop(&mut self) {
        let mut stack = std::mem::take(&mut self.children);
        while let Some(mut node) = stack.pop() {
            stack.append(&mut node.children);
        }
    }
}
