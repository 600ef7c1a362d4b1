//! The server's closed vocabularies, each an enum that names itself: the endpoints requests
//! are counted under ([`Endpoint`], which also parses the Dovecot/wforce command protocol's
//! command names), why a request was refused ([`Rejection`]) and what a client was told
//! ([`Answer`]). `/metrics` keeps one counter per variant and renders [`Endpoint::ALL`] (etc.)
//! in order; nothing looks a label up by string.

/// A closed set of metric labels: an enum whose variants name themselves, and the list of
/// them in the order they are rendered (counters are kept per variant, no string look-up).
macro_rules! labels {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $label:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),+ }
        impl $name {
            /// Every label, in rendering order.
            pub const ALL: &[$name] = &[$($name::$variant),+];
            /// The label as `/metrics` writes it.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

labels!(
    /// Requests by endpoint: the command protocol's commands (Dovecot and wforce), the native
    /// API's endpoints, nginx's
    /// mail `auth_http`, and the admin API.
    Endpoint {
        Allow = "allow",
        Report = "report",
        Reset = "reset",
        AddBlEntry = "addBLEntry",
        DelBlEntry = "delBLEntry",
        GetBl = "getBL",
        Ping = "ping",
        Stats = "stats",
        V1Check = "v1_check",
        V1Report = "v1_report",
        V1CheckBatch = "v1_check_batch",
        V1ReportBatch = "v1_report_batch",
        V1PasswordCheck = "v1_password_check",
        NginxAuth = "nginx_auth",
        Admin = "admin",
    }
);

impl Endpoint {
    /// The command of the Dovecot/wforce command protocol named `name`.
    pub fn command(name: &str) -> Option<Endpoint> {
        Endpoint::ALL[..8]
            .iter()
            .copied()
            .find(|e| e.as_str() == name)
    }
}

labels!(
    /// Why a request was refused before reaching the engine.
    Rejection {
        Unauthorized = "unauthorized",
        BodyTooLarge = "body_too_large",
        JsonTooDeep = "json_too_deep",
        BadJson = "bad_json",
        BadRequest = "bad_request",
        UnknownCommand = "unknown_command",
        PasswordField = "password_field",
        Forbidden = "forbidden",
        BodyTimeout = "body_timeout",
        RateLimited = "rate_limited",
    }
);

labels!(
    /// What a client was told for an attempt (`internal_only` is a deny to the client).
    Answer {
        Allow = "allow",
        Tarpit = "tarpit",
        Deny = "deny",
        StepUp = "step_up",
    }
);
