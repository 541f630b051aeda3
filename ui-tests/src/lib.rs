//! Compile-fail cases live in `ui/`; the driver is `tests/ui.rs`.
