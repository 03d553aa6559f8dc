//! One module per lab run in the engine; each turns its measurements into figures and draws
//! its conclusion from those figures alone.

pub(crate) mod dead_peer;
pub(crate) mod direction;
pub(crate) mod reconnect;
pub(crate) mod sizes;
