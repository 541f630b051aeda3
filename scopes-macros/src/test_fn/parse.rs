//! Parsing and checking `#[scopes::test(..)]`: its arguments, and the function it goes on.

use proc_macro2::{Literal, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::{Expr, FnArg, Ident, ItemFn, Lit, Pat, Type};

use crate::error::Errors;

const ARGUMENTS: &str = "`#[scopes::test]` takes `seed = INTEGER` and `time_limit_ms = INTEGER`";

/// The arguments; each is optional.
pub(crate) struct Args {
    /// `seed = INTEGER`: run ready coroutines in the order this seed draws (`Test::seed`).
    pub(crate) seed: Option<Literal>,
    /// `time_limit_ms = INTEGER`: the real-time limit, in milliseconds (`Test::time_limit`).
    pub(crate) time_limit_ms: Option<Literal>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let mut args = Args {
            seed: None,
            time_limit_ms: None,
        };
        crate::error::parse_named_args(input, &mut errors, "INTEGER", |name, value, errors| {
            let slot = match name.to_string().as_str() {
                "seed" => &mut args.seed,
                "time_limit_ms" => &mut args.time_limit_ms,
                _ => {
                    errors.at(&name, format!("unknown argument `{name}`: {ARGUMENTS}"));
                    return;
                }
            };
            if slot.is_some() {
                errors.at(&name, format!("duplicate argument `{name}`: give it once"));
                return;
            }
            match integer(&name, &value) {
                Ok(n) => *slot = Some(Literal::u64_unsuffixed(n)),
                Err(error) => errors.push(error),
            }
        })?;
        errors.finish()?;
        Ok(args)
    }
}

/// The value of `name = value`: a `u64` literal (a suffix is allowed and dropped); a time
/// limit of 0 ms would fail every test at once.
fn integer(name: &Ident, value: &Expr) -> syn::Result<u64> {
    let example = if name == "seed" {
        "seed = 7"
    } else {
        "time_limit_ms = 5000"
    };
    let what = if name == "seed" {
        "an integer literal"
    } else {
        "a whole number of milliseconds, as an integer literal"
    };
    let literal = match value {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(literal),
            ..
        }) => literal,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("`{name}` takes {what}: write `{example}`"),
            ));
        }
    };
    let n = literal.base10_parse::<u64>().map_err(|_| {
        syn::Error::new_spanned(
            literal,
            format!("`{name}` is a `u64`, and this literal does not fit in one: write `{example}`"),
        )
    })?;
    if n == 0 && name == "time_limit_ms" {
        return Err(syn::Error::new_spanned(
            literal,
            "a real-time limit of 0 ms fails the test before it starts: give a limit above 0, such as `time_limit_ms = 5000`",
        ));
    }
    Ok(n)
}

/// The checked function.
pub(crate) struct TestFn {
    pub(crate) function: ItemFn,
    /// The test scope parameter, if the function takes one: its pattern and its type as written.
    pub(crate) scope_param: Option<(Box<Pat>, Box<Type>)>,
}

/// Checks `function` for `#[scopes::test]`: an `async fn` with at most one parameter (the
/// test's scope), not generic, not a method, with the default ABI, neither `const` nor
/// `unsafe`, and not also marked `#[test]`.
pub(crate) fn validate(function: ItemFn) -> syn::Result<TestFn> {
    let mut errors = Errors::default();
    let sig = &function.sig;
    let name = &sig.ident;
    if let Some(constness) = &sig.constness {
        errors.at(
            constness,
            "a `#[scopes::test]` function cannot be `const`: remove `const`",
        );
    }
    if sig.asyncness.is_none() {
        errors.at(
            sig.fn_token,
            format!(
                "`#[scopes::test]` goes on an `async fn`: the body runs as a coroutine on the test's scheduler; write `async fn {name}`"
            ),
        );
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.at(
            unsafety,
            "a `#[scopes::test]` function cannot be `unsafe`: the test harness calls it; put `unsafe` blocks in the body",
        );
    }
    if let Some(abi) = &sig.abi {
        errors.at(
            abi,
            "a `#[scopes::test]` function cannot have an `extern` ABI: the test harness calls it as a Rust function; remove the ABI",
        );
    }
    if !sig.generics.params.is_empty() {
        errors.at(
            &sig.generics,
            "a `#[scopes::test]` function cannot be generic: the test harness has no types to give it; write one test per type",
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.at(
            where_clause,
            "a `#[scopes::test]` function cannot have a `where` clause: the test harness has no types to give it; write one test per type",
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(
            variadic,
            format!(
                "`#[scopes::test]` takes at most one parameter, the test's scope: `async fn {name}(scope: TestScope)`"
            ),
        );
    }
    let mut scope_param = None;
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => errors.at(
                receiver,
                "a `#[scopes::test]` function is a free function, not a method: remove `self` and move the test out of the `impl`",
            ),
            FnArg::Typed(typed) if i == 0 => {
                scope_param = Some((typed.pat.clone(), typed.ty.clone()));
            }
            FnArg::Typed(typed) => errors.at(
                typed,
                format!(
                    "`#[scopes::test]` takes at most one parameter, the test's scope: `async fn {name}(scope: TestScope)`"
                ),
            ),
        }
    }
    if let syn::ReturnType::Type(_, ty) = &sig.output
        && returns_a_value(ty)
    {
        errors.at(
                ty,
                "a `#[scopes::test]` function returns `()` or `Result<(), E>` (an `Err` fails the test), not a value: assert on the value in the body instead",
            );
    }
    if let Some(test) = function.attrs.iter().find(|a| is_test_attr(a)) {
        errors.at(
            test,
            "`#[scopes::test]` already makes the function a `#[test]`: remove this attribute",
        );
    }
    errors.finish()?;
    Ok(TestFn {
        function,
        scope_param,
    })
}

/// True for a return type that is plainly a value, not `()` nor a `Result` (by any alias the
/// macro cannot see through, which the compiler then checks): a tuple other than `()`, a
/// reference, an array or slice, or a primitive, `String`, `Vec`, `Option`, `Box` or a map.
fn returns_a_value(ty: &Type) -> bool {
    const VALUES: &[&str] = &[
        "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32",
        "i64", "i128", "isize", "f32", "f64", "String", "Vec", "Option", "Box", "HashMap",
        "BTreeMap", "HashSet", "BTreeSet",
    ];
    match ty {
        Type::Tuple(tuple) => !tuple.elems.is_empty(),
        Type::Reference(_) | Type::Array(_) | Type::Slice(_) => true,
        Type::Paren(inner) => returns_a_value(&inner.elem),
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|last| VALUES.contains(&last.ident.to_string().as_str())),
        _ => false,
    }
}

/// `#[test]`, or the same attribute by a path (`#[core::prelude::v1::test]`), or another test
/// attribute (`#[tokio::test]`, a second `#[scopes::test]`).
fn is_test_attr(attr: &syn::Attribute) -> bool {
    let path = attr.path();
    let last_is_test = path.segments.last().is_some_and(|s| s.ident == "test");
    let known_crate = path.segments.first().is_some_and(|s| {
        ["core", "std", "scopes", "tokio"].contains(&s.ident.to_string().as_str())
    });
    path.is_ident("test") || (last_is_test && known_crate)
}

/// Parses the arguments and the function, with all their errors together and, on error, the
/// item to emit after them: the item as written if it is no function, else a plain stand-in
/// `fn` of the same name, so that the only errors are ours.
pub(crate) fn parse(
    args: TokenStream,
    item: TokenStream,
) -> Result<(Args, TestFn), (syn::Error, TokenStream)> {
    let args = syn::parse2::<Args>(args);
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let mut error =
                syn::Error::new_spanned(&item, "`#[scopes::test]` goes on an `async fn`");
            if let Err(args_error) = args {
                error.combine(args_error);
            }
            return Err((error, item));
        }
    };
    let stand_in = stand_in(&function);
    match (args, validate(function)) {
        (Ok(args), Ok(function)) => Ok((args, function)),
        (Err(error), Ok(_)) | (Ok(_), Err(error)) => Err((error, stand_in)),
        (Err(mut a), Err(b)) => {
            a.combine(b);
            Err((a, stand_in))
        }
    }
}

/// A plain function of the same name and visibility, which nothing calls.
fn stand_in(function: &ItemFn) -> TokenStream {
    let vis = &function.vis;
    let name = &function.sig.ident;
    quote::quote! {
        #[allow(dead_code)]
        #vis fn #name() {}
    }
}
