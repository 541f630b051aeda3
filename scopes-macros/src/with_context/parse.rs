//! Parsing `with_context!(context, { body })`.

use syn::parse::{Parse, ParseStream};
use syn::{Block, Expr, Token};

const USAGE: &str = "write `with_context!(context, { body })`";

pub(crate) struct WithContext {
    pub(crate) context: Expr,
    pub(crate) body: Block,
}

impl Parse for WithContext {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(crate::error::at_call_site(format!(
                "`with_context!` needs a context and a body: {USAGE}"
            )));
        }
        let context: Expr = input.parse()?;
        if input.is_empty() {
            return Err(crate::error::at_call_site(format!(
                "`with_context!` needs a body after the context: {USAGE}"
            )));
        }
        if !input.peek(Token![,]) {
            return Err(input.error(format!(
                "expected `,` and a body after the context: {USAGE}"
            )));
        }
        input.parse::<Token![,]>()?;
        let body = match input.parse::<Expr>()? {
            Expr::Block(block) if block.attrs.is_empty() && block.label.is_none() => block.block,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    format!("the body goes in braces: {USAGE}"),
                ));
            }
        };
        input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error(format!("unexpected tokens after the body: {USAGE}")));
        }
        Ok(WithContext { context, body })
    }
}
