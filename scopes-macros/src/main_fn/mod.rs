//! `#[scopes::main]` on `async fn main()` or `async fn main(scope: ScopeHandle)`: the calling
//! thread becomes `Dispatchers::main()`, the body runs in a root scope on it (whose handle it
//! may take), and the program waits for every coroutine of that scope before it exits.

mod parse;

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = parse::parse(args, item.clone());
    let main = match parsed {
        Ok(main) => main,
        Err(error) => {
            // A plain `fn main` stands in, so the only errors are ours.
            return crate::error::with_fallback(
                error,
                quote!(
                    fn main() {}
                ),
            );
        }
    };
    let parse::Main {
        function,
        scope_param,
    } = main;
    let attrs = &function.attrs;
    let vis = &function.vis;
    let name = &function.sig.ident;
    let output = &function.sig.output;
    let block = &function.block;
    let param = match scope_param {
        Some(pat) => quote!(#pat),
        None => quote!(_),
    };
    quote! {
        #(#attrs)*
        #vis fn #name() #output {
            ::scopes::__private::run_program(|#param: ::scopes::ScopeHandle| async move #block)
        }
    }
}
