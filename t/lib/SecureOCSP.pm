package SecureOCSP;
# Helpers for the OCSP / verdict-cache / CRL-fetch tests: a generated CA whose certificates carry AIA and
# CDP URLs pointing at the test httpd's responder CGI (t/htdocs/ocsp/resp.cgi), extra self-contained
# httpd instances (`httpd -f`, 127.0.0.1 only), memcached and redis-server, all bounded in time and stopped
# at exit.
use strict;
use warnings FATAL => 'all';

use Fcntl ();
use File::Copy ();
use File::Path ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

use SecureTest qw(run_cmd sslca test_config t_logs write_file tls_request info_json);
use SecurePKI qw(new_ca open_ca issue revoke gencrl);

use Exporter 'import';
our @EXPORT_OK = qw(main_port responder_url query_count make_pki gen_dir start_instance
                    stop_instance start_memcached stop_all wait_port make_crl spare_port_base
                    start_redis instance_vhost cache_key_file at_once revocation_get);

sub main_port { return test_config()->{vars}->{port} }
sub gen_dir { return t_logs() . '/ocsp-pki' }

# One HTTP/1.1 GET of /info on 127.0.0.1:PORT presenting gen_dir()'s certificate NAME over TLS 1.2:
# (seconds it took, "STATUS REVOCATION SOURCE", the tls_request result). Bounded by a 15 s timeout.
sub revocation_get {
    my ($port, $name) = @_;
    my $gen = gen_dir();
    my $t = Time::HiRes::time();
    my $r = tls_request(port => $port, path => '/info', timeout => 15,
                        ssl => { SSL_cert_file => "$gen/$name.crt", SSL_key_file => "$gen/$name.key",
                                 SSL_version => 'TLSv1_2' });
    my $v = info_json($r);
    return (Time::HiRes::time() - $t,
            join(' ', $r->{status} // ($r->{error} ? 'error' : 'none'), $v->{SECURE_CLIENT_REVOCATION} // 'none',
                 $v->{SECURE_CLIENT_REVOCATION_SOURCE} // 'none'), $r);
}

# Connections [PORT, CERT-NAME] (certificates of gen_dir()), all started at the same moment (forked
# clients, a shared start one second ahead); each result "STATUS REVOCATION SOURCE SECONDS", in the order
# given. Bounded: 30 s per client, 60 s overall (a client that gives nothing reads "none none none 99").
sub at_once {
    my @conns = @_;
    my $t0 = Time::HiRes::time() + 1.0;
    my @kids;
    for my $c (@conns) {
        my ($port, $name) = @$c;
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork();
        die "fork: $!" unless defined $pid;
        if ($pid == 0) {
            close $r;
            alarm 30;
            my $wait = $t0 - Time::HiRes::time();
            Time::HiRes::sleep($wait) if $wait > 0;
            my (undef, $text) = revocation_get($port, $name);
            print $w join(' ', $text, sprintf('%.2f', Time::HiRes::time() - $t0)), "\n";
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    my @out;
    my $deadline = time + 60;
    for my $k (@kids) {
        my ($pid, $r) = @$k;
        my $line = '';
        eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm(($deadline - time) > 1 ? $deadline - time : 1);
            $line = <$r> // '';
            alarm 0;
        };
        kill 'KILL', $pid if $@;
        waitpid($pid, 0);
        chomp $line;
        push @out, $line || 'none none none 99';
    }
    return @out;
}

# First of ten ports for extra servers: right above every port Apache::Test handed out (the main server,
# its vhosts, @NextAvailablePort@; its port counter holds the last one), so that copies of the suite run
# side by side when their SECURE_TEST_PORT values are far enough apart (50 is).
sub spare_port_base {
    my $c = test_config();
    my $max = $c->{server} && $c->{server}->{port_counter} ? $c->{server}->{port_counter} : main_port();
    for my $v (values %{ $c->{vhosts} || {} }) {
        $max = $v->{port} if ref $v && ($v->{port} // 0) > $max;
    }
    return $max + 1;
}

# URL of the responder CGI on the main test server: /ocsp/resp.cgi/<pki>/<mode>/<tag>.
sub responder_url {
    my ($pki, $mode, $tag) = @_;
    return 'http://127.0.0.1:' . main_port() . "/ocsp/resp.cgi/$pki/$mode/$tag";
}

# Requests the responder received under a tag (lines in its counter file).
sub query_count {
    my $tag = shift;
    open my $fh, '<', t_logs() . "/ocsp-count-$tag.log" or return 0;
    my @l = <$fh>;
    return scalar @l;
}

# Generates the CA under t/logs/ocsp-pki (SecurePKI: ca.crt, ca.key, the index.txt `openssl ocsp -index`
# reads): wrong.crt/.key (an unrelated self-signed signer), responder (a delegated OCSP signer of ca) and
# one leaf per entry of %leaves: name => { aia => url, cdp => url, revoked => 0|1 }. EC P-256 keys.
sub make_pki {
    my %leaves = @_;
    my $d = gen_dir();
    my %ec = (key => 'ec:P-256', days => 1);
    my $ca = new_ca($d, 'OCSP test CA', undef, key => 'ec:P-256', days => 2);
    my $wrong = new_ca("$d/wrong-ca", 'unrelated OCSP signer', undef, key => 'ec:P-256', days => 2);
    File::Copy::copy("$wrong->{dir}/ca.crt", "$d/wrong.crt") or die "copy: $!";
    File::Copy::copy("$wrong->{dir}/ca.key", "$d/wrong.key") or die "copy: $!";
    issue($ca, 'responder', %ec, subj => '/O=mod_secure test/CN=delegated OCSP responder',
          ext => "basicConstraints=CA:FALSE\nextendedKeyUsage=OCSPSigning\nkeyUsage=critical,digitalSignature\n");
    for my $name (sort keys %leaves) {
        my $l = $leaves{$name};
        my $ext = "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n";
        $ext .= "authorityInfoAccess=OCSP;URI:$l->{aia}\n" if $l->{aia};
        $ext .= "crlDistributionPoints=URI:$l->{cdp}\n" if $l->{cdp};
        my ($crt) = issue($ca, $name, %ec, ext => $ext);
        revoke($ca, $crt, 'keyCompromise') if $l->{revoked};
    }
    return $d;
}

# Writes t/logs/ocsp-pki/ca.crl (DER) revoking the named leaves, valid for $secs seconds. Its own database
# (ocsp-pki/crldb, signed by the same CA), so that it lists exactly these leaves; CRL numbers keep rising.
sub make_crl {
    my ($secs, @revoked) = @_;
    my $d = gen_dir();
    my $db = open_ca("$d/crldb", signer => $d);
    write_file("$d/crldb/index.txt", '');
    revoke($db, "$d/$_.crt", 'keyCompromise') for @revoked;
    gencrl($db, "$d/ca.crl", secs => $secs, der => 1, akid => 1);
}

# A SecureRevocationCacheKey file t/logs/cachekey-$name holding $text (default: 64 random hex digits and a
# newline), mode $mode (default 0600, what the directive demands). Returns its path.
sub cache_key_file {
    my ($name, $text, $mode) = @_;
    my $path = t_logs() . "/cachekey-$name";
    if (!defined $text) {
        open my $r, '<:raw', '/dev/urandom' or die "/dev/urandom: $!";
        read($r, my $bytes, 32) == 32 or die "/dev/urandom: short read";
        close $r;
        $text = unpack('H*', $bytes) . "\n";
    }
    unlink $path;
    sysopen(my $fh, $path, Fcntl::O_WRONLY() | Fcntl::O_CREAT() | Fcntl::O_EXCL(), 0600) or die "$path: $!";
    binmode $fh;
    print $fh $text;
    close $fh;
    chmod(defined $mode ? $mode : 0600, $path) or die "chmod $path: $!";
    return $path;
}

# ---- extra httpd instances -----------------------------------------------------------------------

# A client-certificate vhost for start_instance's conf: port, CA file, extra directives; /info shows the
# SECURE_* variables.
sub instance_vhost {
    my ($port, $ca, $extra) = @_;
    return <<"V";
<VirtualHost 127.0.0.1:$port>
    SSLEngine on
    SSLCertificateFile "\@SSLCA\@/certs/server.crt"
    SSLCertificateKeyFile "\@SSLCA\@/keys/server.pem"
    SSLCACertificateFile "$ca"
    SSLVerifyClient require
    SecureEngine on
    SecureRevocationUnknown defer
$extra
    <Location /info>
        SetHandler secure-info
    </Location>
</VirtualHost>
V
}

my %instances;
my @daemons;   # memcached, redis-server: pids

sub wait_port {
    my ($port, $up, $secs) = @_;
    my $deadline = Time::HiRes::time() + ($secs || 10);
    while (Time::HiRes::time() < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
        my $is_up = $s ? 1 : 0;
        close $s if $s;
        return 1 if $is_up == $up;
        Time::HiRes::sleep(0.1);
    }
    return 0;
}

# start_instance(name => 'b', mpm => 'prefork'|'event', ports => [...], conf => TEXT (may use @ROOT@,
# @SSLCA@ (asf), @GEN@ (generated CA dir))). Returns the instance root; dies when it does not come up.
sub start_instance {
    my %a = @_;
    my $root = t_logs() . "/inst-$a{name}";
    File::Path::remove_tree($root);
    File::Path::make_path("$root/logs", "$root/htdocs");
    my $mods = '';
    open my $base, '<', test_config()->{vars}->{t_conf} . '/httpd-base.conf' or die "httpd-base.conf: $!";
    while (<$base>) {
        next unless /^LoadModule\s+(\w+)_module/;
        next if $1 =~ /^mpm_/;
        next unless $1 =~ /^(authz_core|mime|socache_\w+|ssl|secure|headers|setenvif|env)$/;
        $mods .= $_;
    }
    close $base;
    my $moddir = `apxs -q LIBEXECDIR 2>/dev/null` || '/usr/lib/apache2/modules';
    chomp $moddir;
    my $mpm = $a{mpm} || 'event';
    my $mpmconf = $mpm eq 'prefork'
        ? "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\nMaxRequestWorkers 16\n"
          . "MaxConnectionsPerChild 0\n"
        : "StartServers 1\nThreadsPerChild 8\nMaxRequestWorkers 8\n";
    my $listen = join '', map { "Listen 127.0.0.1:$_\n" } @{ $a{ports} };
    my $conf = $a{conf};
    my $sslca = sslca();
    my $gen = gen_dir();
    $conf =~ s/\@ROOT\@/$root/g;
    $conf =~ s/\@SSLCA\@/$sslca/g;
    $conf =~ s/\@GEN\@/$gen/g;
    write_file("$root/httpd.conf", <<"CONF" . $conf);
ServerRoot "$root"
ServerName localhost
DefaultRuntimeDir "$root/logs"
PidFile "$root/logs/httpd.pid"
ErrorLog "$root/logs/error_log"
LogLevel info
Mutex file:$root/logs
TypesConfig /etc/mime.types
DocumentRoot "$root/htdocs"
LoadModule mpm_${mpm}_module $moddir/mod_mpm_${mpm}.so
$mods
$mpmconf
$listen
LogFormat "%P %{SECURE_CLIENT_REVOCATION}e %{SECURE_CLIENT_REVOCATION_SOURCE}e \\"%r\\" %>s" inst
CustomLog "$root/logs/access_log" inst
SSLSessionCache none
CONF
    my ($rc, $out) = run_cmd([SecureTest::httpd_bin(), '-f', "$root/httpd.conf", '-k', 'start'], '', 30);
    die "instance $a{name} did not start ($rc): $out\n" . _tail("$root/logs/error_log") if $rc != 0;
    $instances{$a{name}} = $root;
    for my $p (@{ $a{ports} }) {
        wait_port($p, 1, 10) or die "instance $a{name}: port $p not up\n" . _tail("$root/logs/error_log");
    }
    return $root;
}

sub _tail {
    my $f = shift;
    open my $fh, '<', $f or return '';
    my @l = <$fh>;
    return join '', @l[($#l > 30 ? $#l - 30 : 0) .. $#l];
}

sub stop_instance {
    my $name = shift;
    my $root = delete $instances{$name} or return;
    run_cmd([SecureTest::httpd_bin(), '-f', "$root/httpd.conf", '-k', 'stop'], '', 15);
    my $deadline = time + 10;
    while (-e "$root/logs/httpd.pid" && time < $deadline) { Time::HiRes::sleep(0.1) }
    if (open my $fh, '<', "$root/logs/httpd.pid") {   # still there: it did not stop, end it
        my $pid = <$fh>;
        kill 'KILL', $pid if $pid && $pid =~ /^(\d+)$/;
    }
}

# A daemon started in the foreground under `timeout 300` (so it cannot outlive a crashed test), output
# discarded, stopped by stop_all(); returns once it accepts connections on 127.0.0.1:$port.
sub _start_daemon {
    my ($port, @cmd) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec('timeout', '300', @cmd) or POSIX::_exit(127);
    }
    push @daemons, $pid;
    wait_port($port, 1, 10) or die "$cmd[0] on $port did not come up";
    return $pid;
}

# A memcached on 127.0.0.1:$port.
sub start_memcached {
    my $port = shift;
    return _start_daemon($port, 'memcached', '-l', '127.0.0.1', '-p', $port, '-U', '0', '-m', '16', '-t', '1');
}

# A redis-server on 127.0.0.1:$port that keeps nothing on disk (no RDB snapshots, no append-only file).
sub start_redis {
    my $port = shift;
    return _start_daemon($port, 'redis-server', '--port', $port, '--bind', '127.0.0.1', '--save', '',
                         '--appendonly', 'no', '--dir', t_logs(), '--protected-mode', 'yes');
}

sub stop_all {
    stop_instance($_) for keys %instances;
    for my $pid (@daemons) {
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
    @daemons = ();
}

END { stop_all() }

1;
