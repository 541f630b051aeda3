// Lesson: `seed` needs its value: `#[scopes::test(seed = 7)]`.
#[scopes::test(seed)] //~ ERROR missing value for `seed`
async fn loads() {}

fn main() {}
