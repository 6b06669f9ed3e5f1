pub(crate) mod console;
