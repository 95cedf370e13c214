//! Identity-provider tokens: RS256 and ES256 through a JWKS (served here, on 127.0.0.1, with keys
//! generated here) or a PEM key, the claim rules every token passes, and the same rules on `/sync`
//! and `/api/me`.

mod endpoints;
mod jwks;
mod rules;
mod support;
