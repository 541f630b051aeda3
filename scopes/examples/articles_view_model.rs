//! The two view models kotlinx users write around their scopes, with `scopes::flow`: a base
//! whose handler publishes failures on a shared flow, and a list screen that publishes its
//! progress and its state as state flows.
//!
//! ```kotlin
//! abstract class BaseViewModel : ViewModel() {
//!    private val _failure = MutableSharedFlow<Throwable>()
//!    val failure: SharedFlow<Throwable> = _failure
//!    private val context = Dispatchers.Main.immediate + SupervisorJob() +
//!        CoroutineExceptionHandler { _, throwable -> _failure.tryEmit(throwable) }
//!    protected val scope = CoroutineScope(context)
//!    override fun onCleared() { context.cancelChildren() }
//! }
//! ```
//!
//! One change from the Kotlin: `MutableSharedFlow<Throwable>()` is a rendezvous, and its
//! `tryEmit` fails whenever someone subscribes (there is no buffer to take the value), so the
//! UI would never see a failure. Here the failure flow keeps up to 16 for a slow UI.
//!
//! Run it with `cargo run --example articles_view_model`; its test checks the sequences of
//! states in virtual time.

use std::time::Duration;

use scopes::flow::{BufferOverflow, MutableSharedFlow, MutableStateFlow, SharedFlow, StateFlow};
use scopes::prelude::*;

/// A view model's scope, and the flow its failures go to.
struct BaseViewModel {
    failure: MutableSharedFlow<String>,
    scope: Scope,
}

impl BaseViewModel {
    fn new() -> Self {
        let failure = MutableSharedFlow::with_config(0, 16, BufferOverflow::DropOldest)
            .expect("a buffer to drop from");
        let published = failure.clone();
        let handler = CoroutineExceptionHandler::new(move |_, error| {
            published.try_emit(error.to_string());
        });
        let scope = Scope::new(Dispatchers::main_immediate() + Job::supervisor() + handler);
        BaseViewModel { failure, scope }
    }

    fn failure(&self) -> SharedFlow<String> {
        self.failure.as_shared_flow()
    }

    fn on_cleared(&self) {
        self.scope.job().cancel_children();
    }
}

#[derive(Clone, Debug, PartialEq)]
enum ArticlesListState {
    Initial,
    Loaded(Vec<String>),
}

/// Loads articles: from a server, here faked with a two-second delay (or a failure).
#[derive(Clone)]
struct ProduceArticlesUseCase {
    fail: bool,
}

impl ProduceArticlesUseCase {
    async fn produce(&self) -> Result<Vec<String>, std::io::Error> {
        delay(Duration::from_secs(2)).await;
        if self.fail {
            return Err(std::io::Error::other("the articles server is down"));
        }
        Ok(vec!["Structured concurrency".into(), "Hot flows".into()])
    }
}

struct ArticlesListViewModel {
    base: BaseViewModel,
    produce_articles: ProduceArticlesUseCase,
    progress_visible: MutableStateFlow<bool>,
    articles_list_state: MutableStateFlow<ArticlesListState>,
}

impl ArticlesListViewModel {
    fn new(produce_articles: ProduceArticlesUseCase) -> Self {
        ArticlesListViewModel {
            base: BaseViewModel::new(),
            produce_articles,
            progress_visible: MutableStateFlow::new(false),
            articles_list_state: MutableStateFlow::new(ArticlesListState::Initial),
        }
    }

    fn progress_bar_visible(&self) -> StateFlow<bool> {
        self.progress_visible.as_state_flow()
    }

    fn articles_list_state(&self) -> StateFlow<ArticlesListState> {
        self.articles_list_state.as_state_flow()
    }

    fn on_create(&self) {
        let progress = self.progress_visible.clone();
        let state = self.articles_list_state.clone();
        let produce_articles = self.produce_articles.clone();
        self.base.scope.launch(async move {
            progress.set_value(true);
            let articles = produce_articles.produce().await?;
            state.set_value(ArticlesListState::Loaded(articles));
            progress.set_value(false);
            Ok::<(), std::io::Error>(())
        });
    }
}

#[scopes::main]
async fn main() {
    use futures::StreamExt;

    let model = ArticlesListViewModel::new(ProduceArticlesUseCase { fail: false });
    let mut states = model.articles_list_state().subscribe();
    println!("state: {:?}", states.next().await.unwrap());
    model.on_create();
    println!("progress: {}", model.progress_bar_visible().value());
    println!("state: {:?}", states.next().await.unwrap());
    println!("progress: {}", model.progress_bar_visible().value());

    let failing = ArticlesListViewModel::new(ProduceArticlesUseCase { fail: true });
    let mut failures = failing.base.failure().subscribe();
    failing.on_create();
    println!("failure: {}", failures.next().await.unwrap());
    failing.base.on_cleared();
    model.base.on_cleared();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::StreamExt;
    use scopes::test::run_test;

    use super::*;

    /// Records every state a UI collector sees, with the virtual time it saw it at.
    fn record<T: Clone + PartialEq + Send + Sync + 'static>(
        scope: &scopes::test::TestScope,
        flow: StateFlow<T>,
    ) -> Arc<Mutex<Vec<(Duration, T)>>> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let clock = scope.clone();
        scope.background_scope().launch(async move {
            let mut values = flow.subscribe();
            while let Some(value) = values.next().await {
                log.lock().unwrap().push((clock.current_time(), value));
            }
        });
        seen
    }

    #[test]
    fn a_load_shows_progress_then_the_articles() {
        run_test(|scope| async move {
            let model = ArticlesListViewModel::new(ProduceArticlesUseCase { fail: false });
            let progress = record(&scope, model.progress_bar_visible());
            let states = record(&scope, model.articles_list_state());
            scope.run_current().await;
            model.on_create();
            scope.advance_time_by(Duration::from_secs(1)).await;
            assert!(model.progress_bar_visible().value(), "loading at 1 s");
            scope.advance_time_by(Duration::from_secs(1)).await;
            let secs = Duration::from_secs;
            assert_eq!(
                *progress.lock().unwrap(),
                [(secs(0), false), (secs(0), true), (secs(2), false)]
            );
            let loaded = ArticlesListState::Loaded(vec![
                "Structured concurrency".into(),
                "Hot flows".into(),
            ]);
            assert_eq!(
                *states.lock().unwrap(),
                [(secs(0), ArticlesListState::Initial), (secs(2), loaded)]
            );
            model.base.on_cleared();
        });
    }

    #[test]
    fn a_failed_load_arrives_on_the_failure_flow() {
        run_test(|scope| async move {
            let model = ArticlesListViewModel::new(ProduceArticlesUseCase { fail: true });
            let mut failures = model.base.failure().subscribe();
            model.on_create();
            let failure = failures.next().await.unwrap();
            assert_eq!(failure, "the articles server is down");
            assert_eq!(scope.current_time(), Duration::from_secs(2));
            assert!(
                model.progress_bar_visible().value(),
                "as in the Kotlin: left visible"
            );
            assert_eq!(
                model.articles_list_state().value(),
                ArticlesListState::Initial
            );
        });
    }

    #[test]
    fn clearing_the_view_model_cancels_the_load() {
        run_test(|scope| async move {
            let model = ArticlesListViewModel::new(ProduceArticlesUseCase { fail: false });
            model.on_create();
            scope.advance_time_by(Duration::from_secs(1)).await;
            model.base.on_cleared();
            scope.advance_time_by(Duration::from_secs(5)).await;
            assert_eq!(
                model.articles_list_state().value(),
                ArticlesListState::Initial,
                "the cancelled load never finished"
            );
            assert!(model.base.scope.job().children().is_empty());
        });
    }
}
