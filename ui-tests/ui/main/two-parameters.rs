// Lesson: `main` gets at most one parameter, the root scope's handle.

#[scopes::main]
async fn main(scope: scopes::ScopeHandle, verbose: bool) { //~ ERROR takes at most one parameter
    let _ = (scope, verbose);
}
