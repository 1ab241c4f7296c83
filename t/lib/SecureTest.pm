package SecureTest;
# Helpers shared by mod_secure's Apache::Test suite: real TLS connections with IO::Socket::SSL (so a test
# sees what its own client negotiated), openssl s_client runs, and the PKI paths Apache::TestSSLCA made.
use strict;
use warnings FATAL => 'all';

use Apache::Test ();
use Apache::TestConfig ();
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

use Exporter 'import';
our @EXPORT_OK = qw(vhost_port tls_request info_json env_lines s_client sslca cert_file key_file
                    error_log_since error_log_mark wait_until openssl_cmd httpd_bin config_test run_cmd client_ctx
                    test_config t_logs run_ok write_file client alert_of alert_name);

# The Apache::Test configuration of this run (ports, vhosts, paths), read once.
my $config;
sub test_config { $config ||= Apache::Test::config(); $config }
sub _config { return test_config() }

# The test server's log folder (scratch files of the tests go below it).
sub t_logs { return _config()->{vars}->{t_logs} }

# Port Apache::Test gave the <VirtualHost NAME>.
sub vhost_port {
    my $name = shift;
    my $v = _config()->{vhosts}->{$name} or die "no test vhost '$name'";
    return $v->{port};
}

# Root of the asf test CA (certs/, keys/, crl/, index.txt).
sub sslca { return _config()->{vars}->{sslca} . '/asf' }
sub cert_file { my $n = shift; return sslca() . "/certs/$n.crt" }
sub key_file  { my $n = shift; return sslca() . "/keys/$n.pem" }

# IO::Socket::SSL options that present the asf CA's client certificate $name (client_ok, client_revoked, ...):
#   tls_request(vhost => ..., ssl => { client('client_ok'), SSL_version => 'TLSv1_2' })
sub client { my $n = shift; return (SSL_cert_file => cert_file($n), SSL_key_file => key_file($n)) }

# TLS alerts by number, named as OpenSSL prints them ("sslv3 alert certificate revoked", "tlsv13 alert
# certificate required"; RFC 8446 section 6).
my %ALERT = (10 => 'unexpected message', 20 => 'bad record mac', 40 => 'handshake failure',
             42 => 'bad certificate', 43 => 'unsupported certificate', 44 => 'certificate revoked',
             45 => 'certificate expired', 46 => 'certificate unknown', 47 => 'illegal parameter',
             48 => 'unknown ca', 49 => 'access denied', 50 => 'decode error', 51 => 'decrypt error',
             70 => 'protocol version', 71 => 'insufficient security', 80 => 'internal error',
             86 => 'inappropriate fallback', 90 => 'user canceled', 109 => 'missing extension',
             110 => 'unsupported extension', 112 => 'unrecognized name', 116 => 'certificate required',
             120 => 'no application protocol');
my %ALERT_NUMBER = reverse %ALERT;

# The number of the TLS alert the client received, from openssl s_client's output ("... alert number 44",
# "ssl/tls alert certificate revoked") or from a tls_request result (its error text); undef when none.
sub alert_of {
    my $r = shift;
    my $text = ref $r ? $r->{error} // '' : $r // '';
    return $1 + 0 if $text =~ /alert number (\d+)/;
    for my $name (sort { length $b <=> length $a } keys %ALERT_NUMBER) {
        return $ALERT_NUMBER{$name} + 0 if $text =~ /alert[ _]\Q$name\E/i || $text =~ /alert:\s*\Q$name\E/i;
    }
    return undef;
}

# The name of a TLS alert number (alert_name(44) is "certificate revoked"); undef for an unknown number.
sub alert_name { my $n = shift; return defined $n ? $ALERT{$n} : undef }

# Runs a command (list), bounded to 60 s, and dies with its output unless it exits 0; returns the output.
sub run_ok {
    my @cmd = @_;
    my ($rc, $out) = run_cmd(\@cmd, '', 60);
    die "command failed ($rc): @cmd\n$out" if $rc != 0;
    return $out;
}

# Writes $text to $path (replacing it).
sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "write $path: $!";
    print $fh $text;
    close $fh;
}

# One HTTPS request on a new TLS connection to 127.0.0.1.
#   tls_request(vhost => 'secure_main', path => '/info', host => 'localhost', sni => 'localhost',
#               ssl => { SSL_version => 'TLSv1_2', SSL_cipher_list => ..., SSL_alpn_protocols => [...],
#                        SSL_cert_file => ..., SSL_key_file => ..., SSL_session_cache => $cache, ... })
# Returns a hash: error (TLS or socket failure text, other keys then absent), status, headers (lower-case
# names), body, and what the client saw: version, cipher, alpn, reused, closed (server closed after).
sub tls_request {
    my %a = @_;
    my $port = $a{port} || vhost_port($a{vhost});
    my $host = defined $a{host} ? $a{host} : 'localhost';
    my %ssl = (
        PeerAddr        => '127.0.0.1',
        PeerPort        => $port,
        Timeout         => $a{timeout} || 10,
        SSL_verify_mode => SSL_VERIFY_NONE,
        SSL_hostname    => defined $a{sni} ? $a{sni} : 'localhost',
        %{ $a{ssl} || {} },
    );
    # a shared context (SecureTest::client_ctx) carries the client's session cache between connections
    $ssl{SSL_reuse_ctx} = $a{ctx} if $a{ctx};
    my $sock = IO::Socket::SSL->new(%ssl);
    unless ($sock) {
        my $err = $IO::Socket::SSL::SSL_ERROR || $! || 'connect failed';
        return { error => "$err" };
    }
    my %r = (
        version => _tls_name($sock->get_sslversion),
        cipher  => $sock->get_cipher,
        alpn    => scalar($sock->alpn_selected) // '',
        reused  => $sock->get_session_reused ? 1 : 0,
    );
    my $method = $a{method} || 'GET';
    my $path = $a{path} || '/';
    # keepalive => 1: the client does not ask for a close, so a "Connection: close" answer (closed => 1)
    # is the server's own decision
    my $req = "$method $path HTTP/1.1\r\nHost: $host\r\n" . ($a{keepalive} ? '' : "Connection: close\r\n");
    $req .= "$_: $a{headers}{$_}\r\n" for keys %{ $a{headers} || {} };
    $req .= "\r\n";
    print $sock $req;
    my $resp = '';
    my $deadline = time + ($a{timeout} || 10);
    while (time < $deadline) {
        my $n = sysread($sock, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    $r{cipher} ||= $sock->get_cipher;
    $sock->close;
    unless ($resp =~ s/\A(HTTP\/1\.[01]) (\d{3})[^\r\n]*\r\n//) {
        $r{error} = "no HTTP response" . ($resp eq '' ? ' (connection closed)' : ": $resp");
        return \%r;
    }
    $r{status} = $2;
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    for my $line (split /\r\n/, $head) {
        my ($k, $v) = split /:\s*/, $line, 2;
        $r{headers}{lc $k} = $v if defined $v;
    }
    $body //= '';
    if (($r{headers}{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/\A([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $out .= substr($body, 0, $len, '');
            $body =~ s/\A\r\n//;
        }
        $body = $out;
    }
    $r{body} = $body;
    $r{closed} = ($r{headers}{connection} // '') =~ /close/i ? 1 : 0;
    return \%r;
}

# A client context with a session cache, for resumption tests: client_ctx(SSL_version => 'TLSv1_2').
sub client_ctx {
    my %o = @_;
    my $ctx = IO::Socket::SSL::SSL_Context->new(SSL_verify_mode => SSL_VERIFY_NONE,
                                                SSL_session_cache_size => 16, %o);
    die "client context: $IO::Socket::SSL::SSL_ERROR" unless $ctx;
    return $ctx;
}

# IO::Socket::SSL says TLSv1_3; OpenSSL and mod_secure say TLSv1.3.
sub _tls_name { my $v = shift // ''; $v =~ s/^(TLSv1)_(\d)$/$1.$2/; return $v }

# JSON body of a secure-info response as a hash (empty hash when the body is not JSON).
sub info_json {
    my $r = shift;
    return {} unless defined $r->{body};
    my $h = eval { JSON::PP->new->decode($r->{body}) };
    return $h || {};
}

# NAME=VALUE lines (the env.pl CGI) as a hash.
sub env_lines {
    my $r = shift;
    my %env;
    for (split /\n/, $r->{body} // '') {
        my ($k, $v) = split /=/, $_, 2;
        $env{$k} = $v if defined $v;
    }
    return \%env;
}

sub openssl_cmd { return $ENV{OPENSSL} || 'openssl' }
sub httpd_bin { return _config()->{vars}->{httpd} }

# Runs openssl s_client against a test vhost, sending an HTTP request, bounded in time.
#   s_client(vhost => 'secure_main', args => ['-tls1_3', '-cert', ...], path => '/info')
# Returns (exit status, combined output).
sub s_client {
    my %a = @_;
    my $port = $a{port} || vhost_port($a{vhost});
    my $path = $a{path} || '/';
    my $host = $a{host} || 'localhost';
    my $sni = $a{sni} // 'localhost';
    my @cmd = (openssl_cmd(), 's_client', '-connect', "127.0.0.1:$port",
               ($sni eq '' ? ('-noservername') : ('-servername', $sni)), '-ign_eof', @{ $a{args} || [] });
    my $req = $a{request} // "GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n";
    return run_cmd(\@cmd, $req, $a{timeout} || 15);
}

# Runs a command with input on stdin and a time limit; returns (exit status, stdout+stderr).
sub run_cmd {
    my ($cmd, $input, $timeout) = @_;
    my $in = File::Temp->new;
    print $in ($input // '');
    close $in;
    my $out = File::Temp->new;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', $in->filename or POSIX::_exit(127);
        open STDOUT, '>', $out->filename or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec @$cmd or POSIX::_exit(127);
    }
    my $deadline = Time::HiRes::time() + ($timeout || 15);
    my $status;
    while (1) {
        my $w = waitpid($pid, POSIX::WNOHANG());
        if ($w == $pid) { $status = $?; last }
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $status = -1;
            last;
        }
        Time::HiRes::sleep(0.05);
    }
    open my $fh, '<', $out->filename or die;
    local $/;
    my $text = <$fh> // '';
    return ($status == -1 ? -1 : $status >> 8, $text);
}

sub error_log_path { return _config()->{vars}->{t_logs} . '/error_log' }

# Byte offset of the end of the error log now; pass it to error_log_since() later.
sub error_log_mark { return -s error_log_path() || 0 }

# Error log text written after a mark.
sub error_log_since {
    my $mark = shift || 0;
    open my $fh, '<', error_log_path() or return '';
    seek $fh, $mark, 0;
    local $/;
    return <$fh> // '';
}

# Polls a condition every 0.2 s for at most $secs seconds; true when it became true.
sub wait_until {
    my ($secs, $cond) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (Time::HiRes::time() < $deadline) {
        return 1 if $cond->();
        Time::HiRes::sleep(0.2);
    }
    return $cond->() ? 1 : 0;
}

# Writes a self-contained httpd config in a scratch server root under t/logs: the base every scratch
# server needs (modules, paths, one Listen on 127.0.0.1:$port) followed by $text, in which @MODDIR@,
# @SECURE_SO@, @ROOT@, @SSLCA@ and @PORT@ are replaced. Returns the server root ($root/httpd.conf).
sub scratch_config {
    my ($tag, $text, $port) = @_;
    my $cfg = _config();
    require File::Temp;
    my $root = File::Temp::tempdir("$tag-XXXXXX", DIR => $cfg->{vars}->{t_logs}, CLEANUP => 1);
    mkdir "$root/logs";
    my $moddir = `apxs -q LIBEXECDIR 2>/dev/null` || '/usr/lib/apache2/modules';
    chomp $moddir;
    my %sub = (MODDIR => $moddir, SECURE_SO => $cfg->{vars}->{top_dir} . '/mod_secure/.libs/mod_secure.so',
               ROOT => $root, SSLCA => $cfg->{vars}->{sslca} . '/asf', PORT => $port);
    my $base = <<"BASE";
ServerRoot "$root"
ServerName localhost
DefaultRuntimeDir "$root/logs"
PidFile "$root/logs/httpd.pid"
ErrorLog "$root/logs/error_log"
Mutex file:$root/logs
Listen 127.0.0.1:$port
LoadModule mpm_event_module $moddir/mod_mpm_event.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule socache_shmcb_module $moddir/mod_socache_shmcb.so
TypesConfig /etc/mime.types
BASE
    $text =~ s/\@(\w+)\@/exists $sub{$1} ? $sub{$1} : "\@$1\@"/ge;
    open my $fh, '>', "$root/httpd.conf" or die "write $root/httpd.conf: $!";
    print $fh $base, $text;
    close $fh;
    return $root;
}

# `httpd -t` on a self-contained config text (see scratch_config). Returns (exit status, output).
sub config_test {
    my $text = shift;
    my $root = scratch_config('cfgtest', $text, 1);
    return run_cmd([httpd_bin(), '-t', '-f', "$root/httpd.conf"], '', 30);
}

require File::Temp;

1;
