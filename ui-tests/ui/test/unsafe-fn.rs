// Lesson: the test harness calls a test as a safe function: a `#[scopes::test]` function is
// not `unsafe fn`; its body holds the `unsafe` blocks it needs, each with its reason.
#[scopes::test]
async unsafe fn reads_raw() {} //~ ERROR cannot be `unsafe`

fn main() {}
