//! The Graph simulator (being written).
