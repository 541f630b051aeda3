//! Parsing `#[coroutine_scope(..)]`: the arguments and the struct it goes on.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::{Expr, Fields, Ident, Item, ItemStruct};

use crate::error::Errors;

/// The arguments.
pub(crate) struct Args {
    /// `context = EXPR`: the context of the scopes `new_scope()` makes. Default: a `Job`.
    pub(crate) context: Option<Expr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut errors = Errors::default();
        let mut context: Option<Expr> = None;
        crate::error::parse_named_args(input, &mut errors, "EXPR", |name, value, errors| {
            if name != "context" {
                errors.at(
                    &name,
                    format!(
                        "unknown argument `{name}`: `#[coroutine_scope]` takes `context = EXPR`"
                    ),
                );
            } else if context.is_some() {
                errors.at(&name, "duplicate argument `context`: give it once");
            } else {
                context = Some(value);
            }
        })?;
        errors.finish()?;
        Ok(Args { context })
    }
}

/// The struct, with the field that keeps its scope.
pub(crate) struct ScopeStruct {
    /// The struct, `#[scope]` attributes removed.
    pub(crate) item: ItemStruct,
    /// How to name the scope field: its identifier.
    pub(crate) field: Ident,
}

impl ScopeStruct {
    /// Checks the item; on error gives the error and the item to emit after it.
    pub(crate) fn from_item(item: Item) -> Result<Self, (syn::Error, TokenStream)> {
        let mut item = match item {
            Item::Struct(item) => item,
            Item::Enum(e) => {
                let error = syn::Error::new_spanned(
                    e.enum_token,
                    "`#[coroutine_scope]` goes on a struct with named fields, not an enum: one struct owns the scope, as `struct Service { #[scope] scope: Scope, .. }`",
                );
                return Err((error, e.into_token_stream()));
            }
            other => {
                let error = syn::Error::new_spanned(
                    &other,
                    "`#[coroutine_scope]` goes on a struct with named fields, as `struct Service { #[scope] scope: Scope, .. }`",
                );
                return Err((error, other.into_token_stream()));
            }
        };
        let fields = match &item.fields {
            Fields::Named(fields) => fields,
            Fields::Unnamed(fields) => {
                let error = syn::Error::new_spanned(
                    fields,
                    "`#[coroutine_scope]` needs named fields, so the scope has a name: write `struct Name { #[scope] scope: Scope, .. }`",
                );
                return Err((error, strip_scope_attrs(Item::Struct(item))));
            }
            Fields::Unit => {
                let error = syn::Error::new_spanned(
                    &item.ident,
                    "`#[coroutine_scope]` needs a field to keep its scope in: write `struct Name { #[scope] scope: Scope }`",
                );
                return Err((error, item.into_token_stream()));
            }
        };
        let mut errors = Errors::default();
        let marked: Vec<&syn::Field> = fields.named.iter().filter(|f| has_scope_attr(f)).collect();
        for extra in marked.iter().skip(1) {
            errors.at(
                extra.attrs.iter().find(|a| a.path().is_ident("scope")),
                "a second `#[scope]` field: a struct keeps one scope",
            );
        }
        let by_type: Vec<&syn::Field> = fields
            .named
            .iter()
            .filter(|f| is_scope_type(&f.ty))
            .collect();
        let field = match (marked.first(), by_type.as_slice()) {
            (Some(field), _) => field.ident.clone(),
            (None, [field]) => field.ident.clone(),
            (None, []) => {
                errors.at(
                    &item.ident,
                    format!(
                        "`{}` has no field to keep its scope in: add `#[scope] scope: scopes::Scope`",
                        item.ident
                    ),
                );
                None
            }
            (None, [_, second, ..]) => {
                errors.at(
                    second,
                    "two fields of type `Scope`: mark the struct's own with `#[scope]`",
                );
                None
            }
        };
        if let Err(error) = errors.finish() {
            return Err((error, strip_scope_attrs(Item::Struct(item))));
        }
        strip_field_attrs(&mut item);
        Ok(ScopeStruct {
            item,
            field: field.expect("named fields have identifiers"),
        })
    }
}

fn has_scope_attr(field: &syn::Field) -> bool {
    field.attrs.iter().any(|a| a.path().is_ident("scope"))
}

/// A type whose last path segment is `Scope`: `Scope`, `scopes::Scope`.
fn is_scope_type(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.qself.is_none() && p.path.segments.last().is_some_and(|s| s.ident == "Scope" && s.arguments.is_none()))
}

fn strip_field_attrs(item: &mut ItemStruct) {
    for field in item.fields.iter_mut() {
        field.attrs.retain(|a| !a.path().is_ident("scope"));
    }
}

/// The item without our `#[scope]` helper attributes, which rustc would not know.
pub(crate) fn strip_scope_attrs(item: Item) -> TokenStream {
    match item {
        Item::Struct(mut item) => {
            strip_field_attrs(&mut item);
            item.into_token_stream()
        }
        other => other.into_token_stream(),
    }
}
