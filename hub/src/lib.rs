//! Wohnungserhalt Hub.
