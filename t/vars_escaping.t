# Certificate names are escaped in every variable (issue 9 finding 6): vhost vars_escaping (t/conf/vars_escaping.conf.in).
# A client certificate made here by the test CA has the CN "alice, é<CR><LF>X-Injected: 1" and subjectAltNames
# "a.example,admin.internal" (one DNS name with a comma), "b.example", an e-mail, a URI with a comma and two IP
# addresses. Expected values come from openssl itself (x509 -nameopt RFC2253,-esc_msb) and from the values the
# test wrote; no raw control character may reach the CGI environment, a response header or the JSON.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Encode ();
use JSON::PP ();
use File::Temp ();
use SecureTest qw(tls_request env_lines run_cmd sslca config_test);

plan tests => 33, need_module('mod_ssl.c', 'mod_secure.c', 'mod_headers.c');

my $tmp = File::Temp::tempdir('esc-XXXXXX', DIR => Apache::Test::vars('t_logs'), CLEANUP => 1);
my $ca = sslca();
my $cn = "alice, \xc3\xa9\r\nX-Injected: 1";               # UTF-8 bytes, as openssl -utf8 takes them
open my $fh, '>', "$tmp/ext.cnf" or die;
print $fh <<'EXT';
subjectAltName = @alt
extendedKeyUsage = clientAuth
[alt]
DNS.1 = a.example,admin.internal
DNS.2 = b.example
email.1 = ops@example.org
URI.1 = https://example.org/a,b
IP.1 = 192.0.2.7
IP.2 = 2001:db8::1
EXT
close $fh;
my $made = 1;
for my $step (['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', "$tmp/c.key"],
              ['openssl', 'req', '-new', '-utf8', '-key', "$tmp/c.key", '-subj', "/O=mod_secure tests/CN=$cn",
               '-out', "$tmp/c.csr"],
              ['openssl', 'x509', '-req', '-in', "$tmp/c.csr", '-CA', "$ca/certs/ca.crt", '-CAkey', "$ca/keys/ca.pem",
               '-passin', 'pass:httpd', '-set_serial', '0x5EC0', '-days', '2', '-extfile', "$tmp/ext.cnf",
               '-out', "$tmp/c.crt"]) {
    my ($rc, $out) = run_cmd($step, '', 30);
    if ($rc) { diag("@$step: $out"); $made = 0; last }
}
ok($made, 'client certificate with CR LF, a comma and UTF-8 in its CN issued by the test CA');

# The independent computation: openssl's RFC 2253 form with UTF-8 kept (ESC_CTRL escapes CR LF as \0D\0A).
my ($rc, $sdn) = run_cmd(['openssl', 'x509', '-in', "$tmp/c.crt", '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb'], '', 10);
$sdn =~ s/^subject=//;
$sdn =~ s/\n\z//;
$sdn = Encode::decode('UTF-8', $sdn);
like($sdn, qr/\\0D\\0A/, "openssl x509 -nameopt RFC2253 escapes CR LF as \\0D\\0A");
my ($want_cn) = $sdn =~ /^CN=((?:[^,\\]|\\.)*)/;          # the first RDN, up to the first unescaped comma
is($want_cn, "alice\\, \x{e9}\\0D\\0AX-Injected: 1", '... its CN component is alice\, é\0D\0AX-Injected: 1');

my %cl = (SSL_cert_file => "$tmp/c.crt", SSL_key_file => "$tmp/c.key");
my $r = tls_request(vhost => 'vars_escaping', path => '/info', ssl => \%cl);
is($r->{status}, 200, 'secure-info answered');
my $v = eval { JSON::PP->new->utf8->decode($r->{body} // '') } || {};   # the body is UTF-8
is($v->{SECURE_CLIENT_S_DN}, $sdn, 'JSON SECURE_CLIENT_S_DN = openssl x509 -subject -nameopt RFC2253,-esc_msb');
is($v->{SECURE_CLIENT_S_DN_CN}, $want_cn, 'JSON SECURE_CLIENT_S_DN_CN = the CN component of that DN (escaped)');
my $body = $r->{body} // '';
ok($body !~ /[\x00-\x09\x0b-\x1f\x7f]/, 'JSON body: no raw control character (only the line breaks between members)');
like($body, qr/"SECURE_CLIENT_S_DN_CN": "alice\\\\, \xc3\xa9\\\\0D\\\\0AX-Injected: 1"/,
     'JSON carries é as UTF-8 bytes (not \u00c3\u00a9) and the escapes as \\\\');
is($v->{SECURE_CLIENT_SAN_DNS_0}, 'a.example,admin.internal', 'SECURE_CLIENT_SAN_DNS_0: the DNS name with a comma, whole');
is($v->{SECURE_CLIENT_SAN_DNS_1}, 'b.example', 'SECURE_CLIENT_SAN_DNS_1: the second DNS name');
ok(!exists $v->{SECURE_CLIENT_SAN_DNS_2}, 'no SECURE_CLIENT_SAN_DNS_2: two DNS names');
is($v->{SECURE_CLIENT_SAN_DNS}, 'a.example\\,admin.internal,b.example',
   'SECURE_CLIENT_SAN_DNS: the comma inside a name escaped as \\, the separator not');
is($v->{SECURE_CLIENT_SAN_EMAIL_0}, 'ops@example.org', 'SECURE_CLIENT_SAN_EMAIL_0');
is($v->{SECURE_CLIENT_SAN_URI_0}, 'https://example.org/a,b', 'SECURE_CLIENT_SAN_URI_0 keeps its comma');
is($v->{SECURE_CLIENT_SAN_URI}, 'https://example.org/a\\,b', 'SECURE_CLIENT_SAN_URI escapes it');
is($v->{SECURE_CLIENT_SAN_IP_0}, '192.0.2.7', 'SECURE_CLIENT_SAN_IP_0');
is($v->{SECURE_CLIENT_SAN_IP_1}, '2001:db8::1', 'SECURE_CLIENT_SAN_IP_1');
is($v->{SECURE_CLIENT_SAN_IP}, '192.0.2.7,2001:db8::1', 'SECURE_CLIENT_SAN_IP');
{
    # the same SAN values as openssl prints them (openssl separates with ", ", which a value may contain too)
    my ($rc2, $san) = run_cmd(['openssl', 'x509', '-in', "$tmp/c.crt", '-noout', '-ext', 'subjectAltName'], '', 10);
    like($san, qr/DNS:a\.example,admin\.internal, DNS:b\.example, email:ops\@example\.org, URI:https:\/\/example\.org\/a,b, IP Address:192\.0\.2\.7, IP Address:2001:DB8:0:0:0:0:0:1/,
         'openssl sees the same subjectAltName entries');
}

# The backend: a CGI gets the escaped values, and no line of its environment is injected.
$r = tls_request(vhost => 'vars_escaping', path => '/cgi/env.pl', ssl => \%cl);
is($r->{status}, 200, 'CGI answered');
my $env = env_lines($r);
is(Encode::decode('UTF-8', $env->{SECURE_CLIENT_S_DN_CN} // ''), $want_cn, 'CGI SECURE_CLIENT_S_DN_CN escaped');
is(Encode::decode('UTF-8', $env->{SECURE_CLIENT_S_DN} // ''), $sdn, 'CGI SECURE_CLIENT_S_DN escaped');
is($env->{SECURE_CLIENT_SAN_DNS_0}, 'a.example,admin.internal', 'CGI SECURE_CLIENT_SAN_DNS_0');
is($env->{SECURE_CLIENT_SAN_DNS_1}, 'b.example', 'CGI SECURE_CLIENT_SAN_DNS_1');
ok(($r->{body} // '') !~ /\r/ && ($r->{body} // '') !~ /^X-Injected/m, 'CGI output: no CR, no line starting X-Injected');

# Response headers set from the variables (mod_headers %{...}s): escaped, nothing injected.
is(Encode::decode('UTF-8', $r->{headers}{'x-client-cn'} // ''), $want_cn, 'header X-Client-CN carries the escaped CN');
ok(!exists $r->{headers}{'x-injected'}, 'no X-Injected response header');
is($r->{headers}{'x-client-san-dns'}, 'a.example\\,admin.internal,b.example', 'header X-Client-SAN-DNS');
is($r->{headers}{'x-client-san-dns-1'}, 'b.example', 'header X-Client-SAN-DNS-1 (a numbered variable through ssl_var_lookup)');

# ap_expr knows the numbered names (httpd -t: an unknown variable would be a syntax error).
my ($crc, $cout) = config_test("LoadModule setenvif_module \@MODDIR\@/mod_setenvif.so\n"
                               . "LoadModule secure_module \@SECURE_SO\@\n"
                               . "SetEnvIfExpr \"%{SECURE_CLIENT_SAN_DNS_12} == 'b.example'\" SAN_OK=1\n");
is($crc, 0, 'httpd -t accepts %{SECURE_CLIENT_SAN_DNS_12} in an expression') or diag($cout);
($crc, $cout) = config_test("LoadModule setenvif_module \@MODDIR\@/mod_setenvif.so\n"
                            . "LoadModule secure_module \@SECURE_SO\@\n"
                            . "SetEnvIfExpr \"%{SECURE_CLIENT_SAN_DNS_01} == 'b.example'\" SAN_OK=1\n");
isnt($crc, 0, '... but not SECURE_CLIENT_SAN_DNS_01 (one spelling per value)');

# The server name a client sends is its own bytes too (OpenSSL refuses only NUL): escaped in SECURE_SNI.
$r = tls_request(vhost => 'vars_escaping', path => '/info', sni => "evil\r\nX-Injected: 1.example");
is($r->{status}, 200, 'a ClientHello whose server name holds CR LF is served (default vhost)');
$v = eval { JSON::PP->new->utf8->decode($r->{body} // '') } || {};
is($v->{SECURE_SNI}, 'evil\\0D\\0AX-Injected: 1.example', 'SECURE_SNI escapes CR LF as \\0D\\0A');
