//! The integration test binary: one module per area.

mod schema;
mod spec;
mod tenant;
