# Per-location requirements and the Host-vs-SNI check (t/conf/policy.conf.in):
#   policy_inter: /modern/ Require secure-policy modern; /both/ RequireAll { secure-policy intermediate,
#                 X-Let-In: yes }; /either/ RequireAny { secure-policy modern, X-Let-In: yes }
#   policy_sni:   a.policy (intermediate, default for the port) and b.policy (modern), same mod_ssl settings
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request env_lines error_log_mark error_log_since);

plan tests => 20, need_module('mod_ssl.c', 'mod_secure.c');

sub get {
    my ($path, $ver, %h) = @_;
    return tls_request(vhost => 'policy_inter', path => $path, headers => \%h, ssl => { SSL_version => $ver });
}

# --- Require secure-policy modern ---
my $mark = error_log_mark();
my $r = get('/modern/env.pl', 'TLSv1_2');
is($r->{status}, 403, 'Require secure-policy modern: a TLS 1.2 client gets 403');
like(error_log_since($mark), qr/SEC10240: vhost [^,]+, client 127\.0\.0\.1: Require secure-policy modern not met for \/modern\/env\.pl: protocol:TLSv1\.2/,
     '... and the error log says which rule (SEC10240)');
$r = get('/modern/env.pl', 'TLSv1_3');
is($r->{status}, 200, 'Require secure-policy modern: a TLS 1.3 client gets 200');
is(env_lines($r)->{SECURE_POLICY}, 'intermediate', '... the vhost policy is still intermediate');
is($r->{version}, 'TLSv1.3', '... over TLS 1.3 (client view)');

# --- composable ---
$r = get('/both/env.pl', 'TLSv1_2', 'X-Let-In' => 'yes');
is($r->{status}, 200, 'RequireAll { secure-policy intermediate, header }: both met -> 200');
$r = get('/both/env.pl', 'TLSv1_2');
is($r->{status}, 403, 'RequireAll: header missing -> 403');
$r = get('/either/env.pl', 'TLSv1_2', 'X-Let-In' => 'yes');
is($r->{status}, 200, 'RequireAny { secure-policy modern, header }: TLS 1.2 with the header -> 200');
$r = get('/either/env.pl', 'TLSv1_2');
is($r->{status}, 403, 'RequireAny: TLS 1.2 without the header -> 403');
$r = get('/either/env.pl', 'TLSv1_3');
is($r->{status}, 200, 'RequireAny: TLS 1.3 without the header -> 200');

# --- Host names a vhost with a stricter policy than the SNI vhost ---
sub sni {
    my ($sni, $host, $ver) = @_;
    return tls_request(vhost => 'policy_sni', sni => $sni, host => $host, path => '/info',
                       ssl => { SSL_version => $ver });
}
$r = sni('a.policy', 'a.policy', 'TLSv1_2');
is($r->{status}, 200, 'SNI a.policy, Host a.policy, TLS 1.2: 200');
$mark = error_log_mark();
$r = sni('a.policy', 'b.policy', 'TLSv1_2');
is($r->{status}, 421, 'SNI a.policy (intermediate), Host b.policy (modern), TLS 1.2: 421 Misdirected Request');
my $log = error_log_since($mark);
like($log, qr/SEC10232: vhost b\.policy:\d+, client 127\.0\.0\.1: Host names a vhost whose SecurePolicy modern refuses this connection \(protocol:TLSv1\.2[^)]*\), negotiated with vhost a\.policy:\d+: 421/,
     '... answered by mod_secure (SEC10232), naming both vhosts');
unlike($log, qr/AH02032/, '... not by mod_ssl (its SNI/Host mismatch AH02032 is absent)');
$r = sni('a.policy', 'b.policy', 'TLSv1_3');
is($r->{status}, 200, 'SNI a.policy, Host b.policy, TLS 1.3: b.policy\'s policy is met -> 200');
$r = sni('b.policy', 'a.policy', 'TLSv1_3');
is($r->{status}, 200, 'SNI b.policy, Host a.policy, TLS 1.3: 200');

# --- a resumed session runs no handshake callback: the request-time check still sees it ---
my $ctx = SecureTest::client_ctx(SSL_version => 'TLSv1_2');
$r = tls_request(vhost => 'policy_sni', sni => 'a.policy', host => 'a.policy', path => '/info', ctx => $ctx);
is($r->{status}, 200, 'TLS 1.2 session with a.policy established');
$mark = error_log_mark();
$r = tls_request(vhost => 'policy_sni', sni => 'a.policy', host => 'b.policy', path => '/info', ctx => $ctx);
is($r->{reused}, 1, 'the session is resumed on a new connection');
is($r->{status}, 421, '... Host b.policy on the resumed TLS 1.2 session: 421');
like(error_log_since($mark), qr/SEC10232/, '... from mod_secure');
