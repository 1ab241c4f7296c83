# Foundation: the module loads from the build tree, stays invisible where it is off, and refuses bad
# directive values at config time with a message naming the directive and the value.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json env_lines config_test run_cmd httpd_bin);

plan tests => 26, need_module('mod_ssl.c', 'mod_secure.c');

my $cfg = Apache::Test::config();

# `httpd -M` on the suite's own config lists the module.
my ($rc, $out) = SecureTest::run_cmd([httpd_bin(), '-M', '-f', $cfg->{vars}->{t_conf_file}], '', 30);
is($rc, 0, 'httpd -M runs');
like($out, qr/^\s*secure_module \(shared\)/m, 'secure_module listed by httpd -M');

# SecureEngine on over TLS: variables present (details in t/vars_handshake.t).
my $r = tls_request(vhost => 'secure_main', path => '/cgi/env.pl');
my $env = env_lines($r);
is($r->{status}, 200, 'CGI on the SecureEngine on vhost answers');
is($env->{SECURE_TLS_VERSION}, $r->{version}, 'CGI sees SECURE_TLS_VERSION');

# Values something set earlier (SetEnvIf, at post_read_request) are replaced, not duplicated.
# (mod_rewrite's E= flag sets them at translate_name; a static file, so no CGI merges the table first)
$r = tls_request(vhost => 'secure_main', path => '/forgefile');
like($r->{headers}->{'x-env-tls'} // '', qr/^TLSv1\.[23]$/, '%{SECURE_TLS_VERSION}e (the first entry of the table) is the real one, not the one mod_rewrite set');
$r = tls_request(vhost => 'secure_main', path => '/forge/env.pl');
$env = env_lines($r);
like($env->{SECURE_TLS_VERSION} // '', qr/^TLSv1\.[23]$/, 'SECURE_TLS_VERSION set by mod_rewrite is replaced for a CGI too by the real one');
ok(($env->{SECURE_CIPHER} // $env->{secure_cipher} // '') =~ /^[A-Z0-9_-]+$/ && ($env->{SECURE_CIPHER} // $env->{secure_cipher}) ne 'forged',
   '... and so is secure_cipher (environment names compare without case)');

# SecureExportVars off in a <Location>: the backend sees none.
$r = tls_request(vhost => 'secure_main', path => '/noexport/env.pl');
$env = env_lines($r);
is($r->{status}, 200, 'CGI under SecureExportVars off answers');
is(scalar(grep { /^SECURE_/ } keys %$env), 0, 'SecureExportVars off: no SECURE_* in the CGI environment');
is($env->{HTTPS}, 'on', '... while mod_ssl still exports its own (HTTPS=on)');

# SecureEngine off vhost: nothing, anywhere.
$r = tls_request(vhost => 'secure_off', path => '/cgi/env.pl');
$env = env_lines($r);
is($r->{status}, 200, 'CGI on the SecureEngine off vhost answers');
is(scalar(grep { /^SECURE_/ } keys %$env), 0, 'SecureEngine off: no SECURE_* variables');
$r = tls_request(vhost => 'secure_off', path => '/info');
is(scalar(keys %{ info_json($r) }), 0, 'SecureEngine off: secure-info reports nothing');

# Plain HTTP vhost with SecureEngine on: no TLS, no variables.
{
    my $port = SecureTest::vhost_port('secure_plain');
    require IO::Socket::INET;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 10);
    print $s "GET /cgi/env.pl HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    like($resp, qr/^HTTP\/1\.1 200/, 'plain HTTP vhost answers');
    unlike($resp, qr/^SECURE_/m, 'plain HTTP with SecureEngine on: no SECURE_* variables');
}

# Every invalid directive value is refused by httpd -t, naming the directive and the value.
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\nLoadModule secure_module \@SECURE_SO\@\n";
for my $case (['SecureEngine maybe', qr/SecureEngine: 'maybe' is not allowed; use on or off/],
              ['SecureExportVars 2', qr/SecureExportVars: '2' is not allowed; use on or off/],
              ['SecureExportCertData pem', qr/SecureExportCertData: 'pem' is not allowed; use on or off/],
              ['SecureEngine', qr/SecureEngine takes one argument/]) {
    ($rc, $out) = config_test("$load$case->[0]\n");
    like($rc, qr/^[1-9]/, "httpd -t refuses '$case->[0]'");
    like($out, $case->[1], "... with a message naming the directive and the value");
}

# SecureEngine on without mod_ssl: startup fails with a clear message.
($rc, $out) = config_test("LoadModule secure_module \@SECURE_SO\@\nSecureEngine on\n");
like($rc, qr/^[1-9]/, 'SecureEngine on without mod_ssl is refused');
like($out, qr/SEC10001: SecureEngine is on but mod_ssl is not loaded/, '... naming mod_ssl');

# And a valid config passes.
($rc, $out) = config_test("${load}SecureEngine on\nSecureExportVars off\nSecureExportCertData on\n");
is($rc, 0, "a valid mod_secure config passes httpd -t: $out");
