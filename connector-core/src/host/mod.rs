//! The host side (being written).
