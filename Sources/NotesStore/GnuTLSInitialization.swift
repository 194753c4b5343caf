/// GnuTLS's answer to "skip the initialisation you run when you are loaded": 1. The same definition as
/// the `GNUTLS_SKIP_GLOBAL_INIT` macro of `<gnutls/gnutls.h>`, which the library looks up (a weak symbol)
/// in its load-time constructor.
///
/// Why: no code here uses GnuTLS. It is loaded only because Debian's libpq links libldap (for LDAP service
/// lookups), which links GnuTLS; libpq's own TLS is OpenSSL. GnuTLS's constructor nevertheless sets up its
/// crypto back end, nettle and p11-kit in every process that links libpq, which costs each worker 0.9 MiB of
/// resident memory it never uses (docs/PERFORMANCE.md, "Where the memory goes"). libldap calls
/// `gnutls_global_init()` itself before it ever uses TLS, so nothing loses its initialisation; it only moves
/// to the first use, which this service never reaches.
///
/// Public so that it is exported from the executable (the dynamic linker finds it there before GnuTLS's
/// own weak default, which answers 0).
@_cdecl("_gnutls_global_init_skip")
public func gnutlsGlobalInitSkip() -> Int32 { 1 }
