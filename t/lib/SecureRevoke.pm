package SecureRevoke;
# Helpers for the revocation tests: a scratch copy of the asf test CA (or a new intermediate CA) driven
# by `openssl ca` with our own minimal config, atomic replacement of the files the server watches, and
# TLS alert numbers as the client saw them.
use strict;
use warnings FATAL => 'all';

use File::Copy ();
use File::Path ();
use SecureTest qw(sslca run_cmd);

use Exporter 'import';
our @EXPORT_OK = qw(scratch_ca new_ca ca_cmd issue revoke gencrl install_file alert_of serial_of fingerprint_of
                    crl_text);

my $CNF = <<'CNF';
[ ca ]
default_ca = CA_default
[ CA_default ]
dir              = @DIR@
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
crlnumber        = $dir/crlnumber
certificate      = $dir/ca.crt
private_key      = $dir/ca.key
default_md       = sha256
default_days     = 30
default_crl_days = 1
policy           = policy_any
unique_subject   = no
[ policy_any ]
commonName       = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt           = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
[ v3_leaf ]
basicConstraints       = CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
CNF

sub _write { my ($f, $t) = @_; open my $fh, '>', $f or die "$f: $!"; print $fh $t; close $fh }

sub _setup_dir {
    my $dir = shift;
    File::Path::make_path("$dir/newcerts");
    _write("$dir/crlnumber", "01\n") unless -e "$dir/crlnumber";
    (my $cnf = $CNF) =~ s/\@DIR\@/$dir/;
    _write("$dir/openssl.cnf", $cnf);
    return { dir => $dir, cnf => "$dir/openssl.cnf", pass => 'pass:httpd' };
}

# Runs `openssl <args>` and dies with its output unless it succeeds.
sub ca_cmd {
    my @args = @_;
    my ($rc, $out) = run_cmd(['openssl', @args], '', 60);
    die "openssl @args: $out" if $rc != 0;
    return $out;
}

# A scratch copy of the asf test CA (same key, same index: it knows client_ok and client_revoked).
sub scratch_ca {
    my $dir = shift;
    File::Path::remove_tree($dir);
    my $ca = _setup_dir($dir);
    my $asf = sslca();
    File::Copy::copy("$asf/certs/ca.crt", "$dir/ca.crt") or die;
    File::Copy::copy("$asf/keys/ca.pem", "$dir/ca.key") or die;
    File::Copy::copy("$asf/index.txt", "$dir/index.txt") or die;
    File::Copy::copy("$asf/serial", "$dir/serial") or die;
    _write("$dir/index.txt.attr", "unique_subject = no\n");
    return $ca;
}

# A new CA: self-signed root when $parent is undef, else an intermediate signed by $parent.
sub new_ca {
    my ($dir, $cn, $parent) = @_;
    File::Path::remove_tree($dir);
    my $ca = _setup_dir($dir);
    _write("$dir/index.txt", '');
    _write("$dir/serial", "1000\n");
    ca_cmd('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$dir/ca.key.plain", '-subj', "/O=mod_secure test/CN=$cn",
           '-out', "$dir/ca.csr");
    ca_cmd('rsa', '-in', "$dir/ca.key.plain", '-aes256', '-passout', 'pass:httpd', '-out', "$dir/ca.key");
    ca_cmd('ca', '-batch', '-config', $parent->{cnf}, '-passin', $parent->{pass}, '-extensions', 'v3_ca',
           '-in', "$dir/ca.csr", '-out', "$dir/ca.crt", '-notext');
    return $ca;
}

# Issues a client certificate; returns (cert file, key file).
sub issue {
    my ($ca, $name) = @_;
    my $d = $ca->{dir};
    ca_cmd('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$d/$name.key", '-subj', "/O=mod_secure test/CN=$name",
           '-out', "$d/$name.csr");
    ca_cmd('ca', '-batch', '-config', $ca->{cnf}, '-passin', $ca->{pass}, '-extensions', 'v3_leaf',
           '-in', "$d/$name.csr", '-out', "$d/$name.crt", '-notext');
    return ("$d/$name.crt", "$d/$name.key");
}

sub revoke {
    my ($ca, $cert, $reason) = @_;
    ca_cmd('ca', '-config', $ca->{cnf}, '-passin', $ca->{pass}, '-revoke', $cert,
           $reason ? ('-crl_reason', $reason) : ());
}

# Writes a CRL (PEM) to $out; opts: hours / secs (validity; default one day), der => 1.
sub gencrl {
    my ($ca, $out, %o) = @_;
    my @valid = defined $o{secs} ? ('-crldays', 0, '-crlhours', 0, '-crlsec', $o{secs})
              : defined $o{hours} ? ('-crldays', 0, '-crlhours', $o{hours}) : ();
    ca_cmd('ca', '-gencrl', '-config', $ca->{cnf}, '-passin', $ca->{pass}, @valid, '-out', "$out.pem");
    if ($o{der}) {
        ca_cmd('crl', '-in', "$out.pem", '-outform', 'DER', '-out', $out);
        unlink "$out.pem";
    }
    else {
        rename "$out.pem", $out or die "rename: $!";
    }
    return $out;
}

# Replaces $dest atomically with the content of $src (or with the bytes in $data).
sub install_file {
    my ($dest, %o) = @_;
    my $tmp = "$dest.tmp$$";
    if (defined $o{data}) { _write($tmp, $o{data}) }
    else { File::Copy::copy($o{src}, $tmp) or die "copy $o{src}: $!" }
    rename $tmp, $dest or die "rename $tmp: $!";
    # a new inode alone marks the change; mtime may equal the old one within the same second
}

# The TLS alert number in a client error text ("... alert number 44" / "sslv3 alert certificate revoked").
my %ALERT_NAME = ('certificate revoked' => 44, 'certificate unknown' => 46, 'unknown ca' => 48,
                  'bad certificate' => 42, 'handshake failure' => 40, 'internal error' => 80,
                  'certificate expired' => 45, 'access denied' => 49);
sub alert_of {
    my $text = shift // '';
    return $1 + 0 if $text =~ /alert number (\d+)/;
    for my $n (keys %ALERT_NAME) {
        return $ALERT_NAME{$n} if $text =~ /alert \Q$n\E/i || $text =~ /\Q$n\E/i && $text =~ /alert/i;
    }
    return undef;
}

sub serial_of {
    my $cert = shift;
    my $out = ca_cmd('x509', '-in', $cert, '-noout', '-serial');
    $out =~ /serial=([0-9A-Fa-f]+)/ or die "no serial in $out";
    return $1;
}

sub fingerprint_of {
    my $cert = shift;
    my $out = ca_cmd('x509', '-in', $cert, '-noout', '-fingerprint', '-sha256');
    $out =~ /Fingerprint=([0-9A-Fa-f:]+)/ or die "no fingerprint in $out";
    return $1;
}

sub crl_text {
    my ($crl, @fmt) = @_;
    return ca_cmd('crl', '-in', $crl, @fmt, '-noout', '-text');
}

1;
