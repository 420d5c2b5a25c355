#!/usr/bin/perl
# esme.pl - an SMPP 3.4 ESME built on Net::SMPP (Debian's libnet-smpp-perl),
# written for Herald's interoperability tests (internal/smpp/interop) and
# usable by hand against any SMSC, e.g. `herald smsc-sim`:
#
#   perl esme.pl [options] HOST PORT SYSTEM_ID PASSWORD
#
# It binds as a transceiver, checks the link with enquire_link, submits one
# message (registered_delivery 1), answers every deliver_sm with
# deliver_sm_resp until it has received --deliveries of them and the
# submit_sm_resp, unbinds and exits 0.
#
# Each event is one line on stdout, a name followed by key=value fields:
#
#   bound system_id=ID [sc_interface_version=52]
#   bind_failed status=14 code=ESME_RINVPASWD
#   enquire_link_resp status=0
#   submit_resp status=0 id=ID
#   deliver seq=N esm_class=4 source=ADDR dest=ADDR data_coding=0 text="..."
#           [receipted_message_id="ID\x00"] [message_state=2]
#   enquire_link seq=N
#   unexpected cmd=0xNNNNNNNN seq=N status=N
#   unbound [by=smsc]
#   error reason="..."
#
# A value is written bare when it is non-empty printable ASCII without
# spaces, double quotes or backslashes, and otherwise double-quoted with \",
# \\ and \xNN escapes (the syntax Go's strconv.Unquote reads). TLV values
# are printed as received: a C-Octet String keeps its final NUL.
# Diagnostics go to stderr.
#
# Options:
#   --expect-bind-fail  the SMSC should refuse the bind: exit 0 after
#                       bind_failed, 1 when the bind succeeds
#   --source=ADDR       source_addr, TON 5 (alphanumeric) NPI 0 (default Herald)
#   --dest=ADDR         destination_addr, TON 1 NPI 1 (default 447700900123)
#   --text=TEXT         the message (default "hello from Net::SMPP")
#   --payload           send the message in the message_payload TLV with an
#                       empty short_message (for texts over 254 octets)
#   --deliveries=N      deliver_sm to receive before unbinding (default 2)
#   --timeout=SECONDS   longest wait for any PDU (default 10)
#
# Exit status: 0 success; 1 refused operation, protocol error, lost
# connection or timeout; 2 bad usage.
#
# Net::SMPP is used in asynchronous mode throughout: in its synchronous
# mode a request method reads until it finds its response and silently
# drops every other PDU, deliver_sm included, which would lose a receipt
# that overtakes a submit_sm_resp.

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use IO::Select;
use Net::SMPP;

$| = 1;

my %opt = (
    source     => 'Herald',
    dest       => '447700900123',
    text       => 'hello from Net::SMPP',
    deliveries => 2,
    timeout    => 10,
);
GetOptions(\%opt, 'expect-bind-fail', 'source=s', 'dest=s', 'text=s', 'payload',
           'deliveries=i', 'timeout=i')
    && @ARGV == 4
    or do {
        print STDERR "usage: $0 [options] HOST PORT SYSTEM_ID PASSWORD\n";
        exit 2;
    };
my ($host, $port, $system_id, $password) = @ARGV;

# done is set once the exchange is complete, so that an unbind from the
# SMSC while we unbind is not a failure.
my $done = 0;
my $delivered = 0;

sub quote {
    my ($v) = @_;
    $v = '' unless defined $v;
    return $v if $v =~ /\A[\x21-\x7e]+\z/ && $v !~ /["\\]/;
    $v =~ s/(["\\])/\\$1/g;
    $v =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return qq("$v");
}

sub emit {
    my ($name, @kv) = @_;
    my $line = $name;
    while (@kv) {
        my ($k, $v) = splice @kv, 0, 2;
        $line .= " $k=" . quote($v);
    }
    print "$line\n";
}

sub fail {
    my ($reason) = @_;
    emit('error', reason => $reason);
    exit 1;
}

sub status_code {
    my ($status) = @_;
    my $s = Net::SMPP::status_code->{$status};
    return $s ? $s->{code} : sprintf('0x%08x', $status);
}

# next_pdu waits up to --timeout for the next PDU and returns it.
# Net::SMPP reads exactly one PDU's bytes per call, so select() on the
# socket is a faithful "something is waiting" test between PDUs.
sub next_pdu {
    my ($smpp, $what) = @_;
    IO::Select->new($smpp)->can_read($opt{timeout})
        or fail("timeout waiting for $what");
    my $pdu = $smpp->read_pdu();
    fail("connection lost waiting for $what: " . (${*$smpp}{smpperror} // $!))
        unless $pdu;
    return $pdu;
}

# serve answers a request from the SMSC (or reports a stray PDU).
sub serve {
    my ($smpp, $pdu) = @_;
    my $cmd = $pdu->{cmd};
    if ($cmd == Net::SMPP::CMD_deliver_sm) {
        # Net::SMPP croaks without a message_id: it always sends the
        # (unused) C-Octet String, here empty.
        $smpp->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
        my $text = $pdu->{short_message};
        $text = $pdu->{message_payload}
            if $text eq '' && defined $pdu->{message_payload};
        my @tlv;
        push @tlv, receipted_message_id => $pdu->{receipted_message_id}
            if defined $pdu->{receipted_message_id};
        push @tlv, message_state => unpack('C', $pdu->{message_state})
            if defined $pdu->{message_state};
        emit('deliver', seq => $pdu->{seq}, esm_class => $pdu->{esm_class},
             source => $pdu->{source_addr}, dest => $pdu->{destination_addr},
             data_coding => $pdu->{data_coding}, text => $text, @tlv);
        $delivered++;
    } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
        $smpp->enquire_link_resp(seq => $pdu->{seq});
        emit('enquire_link', seq => $pdu->{seq});
    } elsif ($cmd == Net::SMPP::CMD_unbind) {
        $smpp->unbind_resp(seq => $pdu->{seq});
        emit('unbound', by => 'smsc');
        close $smpp;
        exit($done ? 0 : 1);
    } elsif ($cmd == Net::SMPP::CMD_generic_nack) {
        fail(sprintf('generic_nack seq=%d status=%s', $pdu->{seq}, status_code($pdu->{status})));
    } else {
        emit('unexpected', cmd => sprintf('0x%08x', $cmd), seq => $pdu->{seq},
             status => $pdu->{status});
        # A request we do not serve: refuse it rather than leave it hanging.
        $smpp->generic_nack(seq => $pdu->{seq}, status => 0x03)
            unless $cmd & 0x80000000;
    }
}

my $smpp = Net::SMPP->new_connect($host, port => $port, timeout => $opt{timeout})
    or fail("connect $host:$port: $!");

my $seq = $smpp->bind_transceiver(system_id => $system_id, password => $password,
                                  async => 1);
my $bind;
while (!$bind) {
    my $pdu = next_pdu($smpp, 'bind_transceiver_resp');
    if ($pdu->{cmd} == Net::SMPP::CMD_bind_transceiver_resp && $pdu->{seq} == $seq) {
        $bind = $pdu;
    } else {
        serve($smpp, $pdu);
    }
}
if ($bind->{status} != 0) {
    emit('bind_failed', status => $bind->{status}, code => status_code($bind->{status}));
    close $smpp;
    exit($opt{'expect-bind-fail'} ? 0 : 1);
}
emit('bound', system_id => $bind->{system_id},
     defined $bind->{sc_interface_version}
         ? (sc_interface_version => unpack('C', $bind->{sc_interface_version}))
         : ());
my $ok = !$opt{'expect-bind-fail'};

if ($ok) {
    my $eseq = $smpp->enquire_link(async => 1);
    while (1) {
        my $pdu = next_pdu($smpp, 'enquire_link_resp');
        if ($pdu->{cmd} == Net::SMPP::CMD_enquire_link_resp && $pdu->{seq} == $eseq) {
            emit('enquire_link_resp', status => $pdu->{status});
            last;
        }
        serve($smpp, $pdu);
    }
}

if ($ok) {
    my $sseq = $smpp->submit_sm(
        async               => 1,
        source_addr_ton     => 0x05,
        source_addr_npi     => 0x00,
        source_addr         => $opt{source},
        dest_addr_ton       => 0x01,
        dest_addr_npi       => 0x01,
        destination_addr    => $opt{dest},
        registered_delivery => 0x01,
        $opt{payload}
            ? (short_message => '', message_payload => $opt{text})
            : (short_message => $opt{text}),
    );
    my $submitted = 0;
    while (!$submitted || $delivered < $opt{deliveries}) {
        my $pdu = next_pdu($smpp, $submitted ? 'deliver_sm' : 'submit_sm_resp');
        if ($pdu->{cmd} == Net::SMPP::CMD_submit_sm_resp && $pdu->{seq} == $sseq) {
            emit('submit_resp', status => $pdu->{status}, id => $pdu->{message_id});
            $submitted = 1;
            if ($pdu->{status} != 0) {
                $ok = 0;
                last;    # a refused message gets no receipt
            }
            next;
        }
        serve($smpp, $pdu);
    }
}

$done = 1;
my $useq = $smpp->unbind(async => 1);
while (1) {
    my $pdu = next_pdu($smpp, 'unbind_resp');
    if ($pdu->{cmd} == Net::SMPP::CMD_unbind_resp && $pdu->{seq} == $useq) {
        $pdu->{status} == 0
            or fail('unbind refused: ' . status_code($pdu->{status}));
        emit('unbound');
        last;
    }
    serve($smpp, $pdu);
}
close $smpp;
exit($ok ? 0 : 1);
