//! Configuration: every environment variable and default, in one place.
