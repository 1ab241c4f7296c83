# Configuration: a policy that mod_ssl's settings leave empty stops `httpd -t` and startup with a message
# naming the vhost, the policy and the mod_ssl directive; every invalid directive value is refused with a
# message naming the directive and the value.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(config_test);
use SecurePolicy qw(start_fails);

plan tests => 41, need_module('mod_ssl.c', 'mod_secure.c');

my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
sub vhost {
    my ($name, $body) = @_;
    return <<"V";
<VirtualHost 127.0.0.1:8443>
    ServerName $name
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SecureEngine on
$body
</VirtualHost>
V
}

# --- empty intersections, found by httpd -t ---
my ($rc, $out) = config_test($load . vhost('clash.test', "    SSLCipherSuite AES128-SHA\n    SecurePolicy intermediate"));
isnt($rc, 0, 'httpd -t refuses SSLCipherSuite AES128-SHA + SecurePolicy intermediate');
like($out, qr/SEC10204: vhost clash\.test:8443: SecurePolicy intermediate and SSLCipherSuite 'AES128-SHA' \(\S+httpd\.conf:\d+\) leave no TLS 1\.2-or-older cipher to negotiate/,
     '... naming the vhost, the policy and the mod_ssl directive with its place');
like($out, qr/the policy allows: ECDHE-ECDSA-AES128-GCM-SHA256/, '... and what the policy allows');

# inherited from the main server
($rc, $out) = config_test($load . "SSLCipherSuite AES128-SHA\n" . vhost('inherit.test', "    SecurePolicy intermediate"));
isnt($rc, 0, 'httpd -t refuses an SSLCipherSuite the vhost inherits from the main server');
like($out, qr/SEC10204: vhost inherit\.test:8443: SecurePolicy intermediate and SSLCipherSuite 'AES128-SHA'/, '... naming it');

($rc, $out) = config_test($load . vhost('proto.test', "    SSLProtocol TLSv1.2\n    SecurePolicy modern"));
isnt($rc, 0, 'httpd -t refuses SSLProtocol TLSv1.2 + SecurePolicy modern');
like($out, qr/SEC10204: vhost proto\.test:8443: SecurePolicy modern and SSLProtocol 'TLSv1\.2' .* leave no protocol version to negotiate \(the policy allows: TLSv1\.3 to TLSv1\.3\)/,
     '... naming SSLProtocol');

($rc, $out) = config_test($load . vhost('suites.test', "    SSLCipherSuite TLSv1.3 TLS_AES_128_CCM_SHA256\n    SecurePolicy modern"));
isnt($rc, 0, 'httpd -t refuses SSLCipherSuite TLSv1.3 TLS_AES_128_CCM_SHA256 + SecurePolicy modern');
like($out, qr/SEC10204: vhost suites\.test:8443: SecurePolicy modern and SSLCipherSuite TLSv1\.3 'TLS_AES_128_CCM_SHA256' .* leave no TLS 1\.3 suite/,
     '... naming the TLS 1.3 form of SSLCipherSuite');

($rc, $out) = config_test($load . vhost('groups.test', "    SSLOpenSSLConfCmd Groups secp521r1\n    SecurePolicy intermediate"));
isnt($rc, 0, 'httpd -t refuses SSLOpenSSLConfCmd Groups secp521r1 + SecurePolicy intermediate');
like($out, qr/SEC10204: vhost groups\.test:8443: SecurePolicy intermediate and SSLOpenSSLConfCmd Groups 'secp521r1' .* leave no key-exchange group/,
     '... naming SSLOpenSSLConfCmd Groups');

# report mode does not narrow, so the same combination is accepted
($rc, $out) = config_test($load . vhost('report.test', "    SSLCipherSuite AES128-SHA\n    SecurePolicy intermediate\n    SecurePolicyMode report"));
is($rc, 0, "report mode: the same combination passes httpd -t: $out");

# a policy the Secure* directives themselves empty
($rc, $out) = config_test($load . vhost('self.test', "    SecurePolicy modern\n    SecureCipherExclude TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"));
isnt($rc, 0, 'httpd -t refuses SecurePolicy modern with every TLS 1.3 suite excluded');
like($out, qr/SEC10203: vhost self\.test:8443: SecurePolicy modern tightened .* leaves no TLS 1\.3 suite/, '... saying so');

($rc, $out) = config_test($load . vhost('widen.test', "    SecurePolicy old\n    SecureGroups secp521r1"));
isnt($rc, 0, 'httpd -t refuses SecureGroups outside the profile');
like($out, qr/SEC10202: vhost widen\.test:8443: SecureGroups 'secp521r1' is not in SecurePolicy old/, '... naming both');

# a sound policy passes
($rc, $out) = config_test($load . vhost('ok.test', "    SSLProtocol all\n    SecurePolicy intermediate\n    SecureMinProtocol TLSv1.3\n" .
                                       "    SecureCipherExclude CHACHA20\n    SecureGroups X25519:P-256\n" .
                                       "    SecureClientKeyMin rsa:3072 ec:384\n    SecureClientAllowSHA1 off\n" .
                                       "    <Location /x>\n        Require secure-policy modern\n    </Location>"));
is($rc, 0, "a sound policy passes httpd -t: $out");

# --- the authoritative check at startup: narrowing mod_ssl's real context ---
# (MaxProtocol through SSLOpenSSLConfCmd is invisible to the config-tree check; init_server sees it.)
($rc, $out) = start_fails($load . <<'CONF');
<VirtualHost 127.0.0.1:@PORT@>
    ServerName startup.test
    SSLEngine on
    SSLCertificateFile "@SSLCA@/certs/server.crt"
    SSLCertificateKeyFile "@SSLCA@/keys/server.pem"
    SSLOpenSSLConfCmd MaxProtocol TLSv1.2
    SecureEngine on
    SecurePolicy modern
</VirtualHost>
CONF
isnt($rc, 0, 'startup fails when the real SSL_CTX (SSLOpenSSLConfCmd MaxProtocol TLSv1.2) leaves modern nothing');
like($out, qr/SEC10211: vhost startup\.test:\d+: SecurePolicy modern and SSLProtocol .*whose TLS context allows \S+ to TLSv1\.2 .* leave no protocol version to negotiate/,
     '... with the message naming the vhost and the policy');

# --- every invalid value ---
for my $case (
    ['SecurePolicy strict',            qr/SecurePolicy: 'strict' is not allowed; use modern, intermediate, old, nist-800-52r2 or cnsa/],
    ['SecurePolicyMode audit',         qr/SecurePolicyMode: 'audit' is not allowed; use enforce or report/],
    ['SecureMinProtocol TLSv1.1',      qr/SecureMinProtocol: 'TLSv1\.1' is not allowed; use TLSv1\.2 or TLSv1\.3/],
    ['SecureCipherExclude NOSUCHCIPHER', qr/SecureCipherExclude: 'NOSUCHCIPHER' matches no cipher/],
    ['SecureCipherExclude TLS_FOO',    qr/SecureCipherExclude: 'TLS_FOO' is not a TLS 1\.3 suite/],
    ['SecureGroups X25519:brainpool9', qr/SecureGroups: 'brainpool9' is not a key-exchange group/],
    ['SecureClientKeyMin rsa:512',     qr/SecureClientKeyMin: 'rsa:512' is not allowed; use rsa:BITS/],
    ['SecureClientKeyMin dsa:2048',    qr/SecureClientKeyMin: 'dsa:2048' is not allowed/],
    ['SecureClientAllowSHA1 maybe',    qr/SecureClientAllowSHA1: 'maybe' is not allowed; use on or off/],
    ["<Location />\n Require secure-policy ultra\n</Location>", qr/Require secure-policy: 'ultra' is not allowed; use one profile: modern, intermediate, old, nist-800-52r2 or cnsa/],
    ["<Location />\n Require secure-policy modern old\n</Location>", qr/Require secure-policy: 'modern old' is not allowed/],
    ) {
    ($rc, $out) = config_test("$load$case->[0]\n");
    (my $label = $case->[0]) =~ s/\s+/ /g;
    isnt($rc, 0, "httpd -t refuses '$label'");
    like($out, $case->[1], '... with a message naming the directive and the value');
}
