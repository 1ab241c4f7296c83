package SecureListener;
# A tiny HTTP listener for the online-fetch tests (t/online_*.t): a forked child on 127.0.0.1 that logs
# one line per accepted connection (the request line) and answers
#   GET /crl/NAME[/anything]   with the DER file $dir/NAME.crl (200)
#   any method on .../rCODE    with the redirection CODE to $to followed by the same path
#   anything else              with 500.
# Each child lives at most 120 s and accepts at most 300 connections; all are stopped at exit.
use strict;
use warnings FATAL => 'all';

use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

use Exporter 'import';
our @EXPORT_OK = qw(start_listener accepted requests_of stop_listeners);

my @pids;

# start_listener(port => P, log => FILE, dir => CRL_DIR, to => 'http://127.0.0.1:Q'). Returns the log path.
sub start_listener {
    my %a = @_;
    unlink $a{log};
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $a{port}, Listen => 32,
                                    ReuseAddr => 1, Proto => 'tcp') or die "listen 127.0.0.1:$a{port}: $!";
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        $SIG{ALRM} = sub { POSIX::_exit(0) };
        alarm 120;
        for (1 .. 300) {
            my $c = $srv->accept or next;
            my $req = _read_request($c);
            if (open my $fh, '>>', $a{log}) {
                my ($line) = $req =~ /\A([^\r\n]*)/;
                print $fh (($line // '') eq '' ? '(nothing)' : $line), "\n";
                close $fh;
            }
            print $c _respond($req, \%a);
            close $c;
        }
        POSIX::_exit(0);
    }
    close $srv;
    push @pids, $pid;
    return $a{log};
}

# The request head and body (bounded: 64 KB, 5 s).
sub _read_request {
    my $c = shift;
    my $sel = IO::Select->new($c);
    my ($buf, $deadline) = ('', time + 5);
    while (length $buf < 65536 && time < $deadline && $sel->can_read(1)) {
        my $n = sysread($c, $buf, 4096, length $buf);
        last unless $n;
        if ($buf =~ /\A(.*?\r\n\r\n)/s) {
            my $head = $1;
            my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            last if length($buf) >= length($head) + ($len // 0);
        }
    }
    return $buf;
}

sub _respond {
    my ($req, $a) = @_;
    my ($method, $path) = $req =~ /\A(\w+) (\S+)/;
    $path //= '';
    if ($path =~ m{/r(\d{3})$}) {
        return "HTTP/1.0 $1 Moved\r\nLocation: $a->{to}$path\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    }
    if (($method // '') eq 'GET' && $path =~ m{^/crl/(\w+)(?:/\w+)?$} && open my $f, '<', "$a->{dir}/$1.crl") {
        binmode $f;
        my $crl = do { local $/; <$f> };
        return "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: " . length($crl)
               . "\r\nConnection: close\r\n\r\n$crl";
    }
    return "HTTP/1.0 500 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

# Connections a listener accepted so far (after a moment, so that one just accepted is logged).
sub accepted {
    my $log = shift;
    Time::HiRes::sleep(0.3);
    open my $fh, '<', $log or return 0;
    my @l = <$fh>;
    return scalar @l;
}

# The request lines a listener logged, for diagnostics.
sub requests_of {
    my $log = shift;
    open my $fh, '<', $log or return '';
    local $/;
    return <$fh>;
}

sub stop_listeners {
    local $?;
    for my $pid (@pids) {
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
    @pids = ();
}

END { stop_listeners() }

1;
