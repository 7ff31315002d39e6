//! The placeholder certificate used for missing Secrets when `Options::placeholder_secrets` is set
//! (Emissary's unit-test behaviour). Self-signed, for `placeholder.invalid`; never trust it.

pub(crate) const CERT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIB2jCCAYGgAwIBAgIUPTF0ypVAIr8JX3qlVlP/eqZZh4AwCgYIKoZIzj0EAwIw\n\
QjEcMBoGA1UEAwwTcGxhY2Vob2xkZXIuaW52YWxpZDEiMCAGA1UECgwZZW1pc3Nh\n\
cnktY29yZSBwbGFjZWhvbGRlcjAgFw0yNjExMjcxNTIyNTVaGA8yMTI2MTEwMzE1\n\
MjI1NVowQjEcMBoGA1UEAwwTcGxhY2Vob2xkZXIuaW52YWxpZDEiMCAGA1UECgwZ\n\
ZW1pc3NhcnktY29yZSBwbGFjZWhvbGRlcjBZMBMGByqGSM49AgEGCCqGSM49AwEH\n\
A0IABCzrCCCELYf5k0dbJa0NVHBXdHcltRGekfWBb1zSFsuKmqnYkySTrfVbM2IJ\n\
/WXsC8L/Ulm2OLgK39Q2gg6aisijUzBRMB0GA1UdDgQWBBSwv0FC4JZhDtMrutBS\n\
B3QbEgObTzAfBgNVHSMEGDAWgBSwv0FC4JZhDtMrutBSB3QbEgObTzAPBgNVHRMB\n\
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCICAbEv1FUJHHh4QMC+Kb5JY1WK9s\n\
Bth7Y9UXxQ2S/QDaAiAoG9b5RMsYV320CK8GYNrph3J9sYL6DeLrkNipDjbpkA==\n\
-----END CERTIFICATE-----\n\
";

pub(crate) const KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsaLYVyyKP43L4g9S\n\
4RIULNixGan0vU1gr2vHgUyefb6hRANCAAQs6wgghC2H+ZNHWyWtDVRwV3R3JbUR\n\
npH1gW9c0hbLipqp2JMkk631WzNiCf1l7AvC/1JZtji4Ct/UNoIOmorI\n\
-----END PRIVATE KEY-----\n\
";
