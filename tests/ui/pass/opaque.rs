//! Arguments and return values that are neither `Serialize` nor `Debug` still compile.
#![deny(warnings, unused)]

use langfuse::observe;

struct Connection {
    open: bool,
}

#[observe]
fn reconnect(
    connection: Connection,
    on_done: fn(bool) -> bool,
    retry: &dyn Fn() -> bool,
) -> Connection {
    let open = on_done(connection.open) && retry();
    Connection { open }
}

#[observe]
fn fallible(connection: &Connection) -> Result<Connection, Connection> {
    if connection.open {
        Ok(Connection { open: true })
    } else {
        Err(Connection { open: false })
    }
}

pub fn main() {
    let connection = reconnect(Connection { open: true }, |open| open, &|| true);
    assert!(connection.open);
    assert!(fallible(&connection).is_ok());
    assert!(fallible(&Connection { open: false }).is_err());
}
