package SecurePKI;
# The one PKI builder of the suite: certificate authorities driven by `openssl ca` with our own minimal
# config (so each CA keeps the index.txt database that `openssl ocsp -index` and CRLs are made from): a
# scratch copy of the asf test CA, new roots and intermediates, client / responder certificates with any key
# type, digest and extensions, revocation and CRLs; and openssl queries on the results.
use strict;
use warnings FATAL => 'all';

use File::Copy ();
use File::Path ();
use SecureTest qw(sslca run_ok write_file);

use Exporter 'import';
our @EXPORT_OK = qw(scratch_ca new_ca open_ca ca_cmd issue revoke gencrl serial_of fingerprint_of crl_text);

my $CNF = <<'CNF';
[ ca ]
default_ca = CA_default
[ CA_default ]
dir              = @DIR@
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
crlnumber        = $dir/crlnumber
certificate      = @CERT@
private_key      = @KEY@
default_md       = sha256
default_days     = 30
default_crl_days = 1
policy           = policy_any
unique_subject   = no
[ policy_any ]
commonName       = supplied
organizationName = optional
[ crl_ext ]
authorityKeyIdentifier = keyid:always
[ req ]
distinguished_name = dn
prompt           = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_leaf ]
basicConstraints       = CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
CNF

# The CA whose files are in $dir (ca.crt, ca.key, index.txt, serial), as the other functions take it;
# signer => $dir2 signs with the CA in $dir2 but keeps its own database here (a second index, e.g. a CRL
# that lists other certificates than the first).
sub open_ca {
    my ($dir, %o) = @_;
    my $signer = $o{signer} // $dir;
    File::Path::make_path("$dir/newcerts");
    write_file("$dir/crlnumber", "01\n") unless -e "$dir/crlnumber";
    write_file("$dir/index.txt", '') unless -e "$dir/index.txt";
    write_file("$dir/index.txt.attr", "unique_subject = no\n");
    write_file("$dir/serial", "1000\n") unless -e "$dir/serial";
    (my $cnf = $CNF) =~ s/\@DIR\@/$dir/;
    $cnf =~ s/\@CERT\@/$signer\/ca.crt/;
    $cnf =~ s/\@KEY\@/$signer\/ca.key/;
    write_file("$dir/openssl.cnf", $cnf);
    return { dir => $dir, cnf => "$dir/openssl.cnf", pass => 'pass:httpd' };
}

# Runs `openssl <args>` and dies with its output unless it succeeds; returns the output.
sub ca_cmd { return run_ok('openssl', @_) }

# A scratch copy of the asf test CA (same key, same index: it knows client_ok and client_revoked).
sub scratch_ca {
    my $dir = shift;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    my $asf = sslca();
    File::Copy::copy("$asf/certs/ca.crt", "$dir/ca.crt") or die;
    File::Copy::copy("$asf/keys/ca.pem", "$dir/ca.key") or die;
    File::Copy::copy("$asf/index.txt", "$dir/index.txt") or die;
    File::Copy::copy("$asf/serial", "$dir/serial") or die;
    return open_ca($dir);
}

sub _newkey {
    my $spec = shift || 'rsa:2048';
    return $spec =~ /^ec:(.+)$/ ? ('-newkey', 'ec', '-pkeyopt', "ec_paramgen_curve:$1") : ('-newkey', $spec);
}

# A new CA: a self-signed root when $parent is undef, else an intermediate signed by $parent. Its key
# (passphrase "httpd") is $o{key} ('rsa:2048' by default, 'ec:P-256', ...); serial => the first serial it
# gives out (hex); days => the root's validity.
sub new_ca {
    my ($dir, $cn, $parent, %o) = @_;
    File::Path::remove_tree($dir);
    File::Path::make_path($dir);
    write_file("$dir/serial", ($o{serial} // '1000') . "\n");
    my $ca = open_ca($dir);
    my $subj = "/O=mod_secure test/CN=$cn";
    if ($parent) {
        ca_cmd('req', '-new', _newkey($o{key}), '-nodes', '-keyout', "$dir/ca.key.plain", '-subj', $subj,
               '-out', "$dir/ca.csr");
        ca_cmd('ca', '-batch', '-config', $parent->{cnf}, '-passin', $parent->{pass}, '-extensions', 'v3_ca',
               '-in', "$dir/ca.csr", '-out', "$dir/ca.crt", '-notext');
    }
    else {
        ca_cmd('req', '-x509', _newkey($o{key}), '-nodes', '-keyout', "$dir/ca.key.plain", '-subj', $subj,
               '-config', $ca->{cnf}, '-extensions', 'v3_ca', '-days', $o{days} // 30, '-out', "$dir/ca.crt");
    }
    ca_cmd('pkey', '-in', "$dir/ca.key.plain", '-aes256', '-passout', 'pass:httpd', '-out', "$dir/ca.key");
    unlink "$dir/ca.key.plain";
    return $ca;
}

# Issues a certificate in the CA's folder; returns (cert file, key file). Options: key ('rsa:2048', 'rsa:1024',
# 'ec:P-256'), md (signature digest, default sha256), ext (extension lines for the certificate instead of a
# client certificate's), days, subj (default /O=mod_secure test/CN=$name).
sub issue {
    my ($ca, $name, %o) = @_;
    my $d = $ca->{dir};
    my @ext = ('-extensions', 'v3_leaf');
    if (defined $o{ext}) {
        write_file("$d/$name.ext", $o{ext});
        @ext = ('-extfile', "$d/$name.ext");
    }
    ca_cmd('req', '-new', _newkey($o{key}), '-nodes', '-keyout', "$d/$name.key",
           '-subj', $o{subj} // "/O=mod_secure test/CN=$name", '-out', "$d/$name.csr");
    ca_cmd('ca', '-batch', '-config', $ca->{cnf}, '-passin', $ca->{pass}, @ext, '-md', $o{md} || 'sha256',
           ($o{days} ? ('-days', $o{days}) : ()), '-in', "$d/$name.csr", '-out', "$d/$name.crt", '-notext');
    return ("$d/$name.crt", "$d/$name.key");
}

sub revoke {
    my ($ca, $cert, $reason) = @_;
    ca_cmd('ca', '-config', $ca->{cnf}, '-passin', $ca->{pass}, '-revoke', $cert,
           $reason ? ('-crl_reason', $reason) : ());
}

# Writes a CRL (PEM) to $out; opts: hours / secs (validity; default one day), der => 1, akid => 1 (name the
# issuer's key in an authorityKeyIdentifier; the CA needs a subjectKeyIdentifier, which the asf CA lacks).
sub gencrl {
    my ($ca, $out, %o) = @_;
    my @valid = defined $o{secs} ? ('-crlsec', $o{secs})
              : defined $o{hours} ? ('-crlhours', $o{hours}) : ();
    ca_cmd('ca', '-gencrl', '-config', $ca->{cnf}, '-passin', $ca->{pass}, @valid,
           ($o{akid} ? ('-crlexts', 'crl_ext') : ()), '-out', "$out.pem");
    if ($o{der}) {
        ca_cmd('crl', '-in', "$out.pem", '-outform', 'DER', '-out', "$out.der.tmp");
        unlink "$out.pem";
        rename "$out.der.tmp", $out or die "rename: $!";
    }
    else {
        rename "$out.pem", $out or die "rename: $!";
    }
    return $out;
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
