//! Parsing `launch!(..)` / `async_!(..)`.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{Block, Expr, Token};

use super::Flavor;

/// `[scope ,] [context =>] { body }`
pub(crate) struct Launch {
    pub(crate) scope: Option<Expr>,
    pub(crate) context: Option<Expr>,
    pub(crate) body: Block,
}

pub(crate) fn parse(flavor: Flavor, input: TokenStream) -> syn::Result<Launch> {
    let parser = move |input: ParseStream<'_>| parse_launch(flavor, input);
    parser.parse2(input)
}

fn usage(flavor: Flavor) -> String {
    let m = flavor.name();
    format!(
        "write `{m}({{ body }})`, `{m}(scope, {{ body }})`, `{m}(context => {{ body }})` or `{m}(scope, context => {{ body }})`"
    )
}

fn parse_launch(flavor: Flavor, input: ParseStream<'_>) -> syn::Result<Launch> {
    if input.is_empty() {
        return Err(crate::error::at_call_site(format!(
            "`{}` needs a body in braces: {}",
            flavor.name(),
            usage(flavor)
        )));
    }
    let first: Expr = input.parse()?;
    let (scope, context, body) = if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        if input.is_empty() {
            return Err(crate::error::at_call_site(format!(
                "`{}` needs a body after the scope: {}",
                flavor.name(),
                usage(flavor)
            )));
        }
        let second: Expr = input.parse()?;
        if input.peek(Token![=>]) {
            input.parse::<Token![=>]>()?;
            (
                Some(first),
                Some(second),
                body_block(flavor, input.parse::<Expr>()?)?,
            )
        } else {
            (Some(first), None, body_block(flavor, second)?)
        }
    } else if input.peek(Token![=>]) {
        input.parse::<Token![=>]>()?;
        (
            None,
            Some(first),
            body_block(flavor, input.parse::<Expr>()?)?,
        )
    } else {
        (None, None, body_block(flavor, first)?)
    };
    if !input.is_empty() {
        input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error(format!(
                "unexpected tokens after the body of `{}`",
                flavor.name()
            )));
        }
    }
    Ok(Launch {
        scope,
        context,
        body,
    })
}

/// The body must be a plain braced block.
fn body_block(flavor: Flavor, expr: Expr) -> syn::Result<Block> {
    match expr {
        Expr::Block(block) if block.attrs.is_empty() && block.label.is_none() => Ok(block.block),
        other => Err(syn::Error::new_spanned(
            other,
            format!(
                "the body of `{}` goes in braces: {}",
                flavor.name(),
                usage(flavor)
            ),
        )),
    }
}
