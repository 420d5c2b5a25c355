#!/usr/bin/perl
# smsc.pl - a one-connection SMPP 3.4 SMSC built on Net::SMPP (Debian's
# libnet-smpp-perl), written for Herald's interoperability tests
# (internal/smpp/interop):
#
#   perl smsc.pl [options]
#
# It listens on --host and --port (port 0: the kernel picks one), accepts
# one connection and serves it until the ESME unbinds or hangs up. A
# submit_sm is answered with a message id, then followed by a delivery
# receipt for it and a mobile-originated deliver_sm.
#
# Each event is one line on stdout, a name followed by key=value fields:
#
#   listening port=N
#   bind cmd=bind_transceiver system_id=ID password=PW system_type=T interface_version=52
#   bind_refused status=14 code=ESME_RINVPASWD
#   submit seq=N id=ID source=ADDR dest=ADDR esm_class=0 registered_delivery=1 data_coding=0 text="..."
#   deliver_resp seq=N kind=receipt|mo status=0 message_id=""
#   enquire_link seq=N
#   unexpected cmd=0xNNNNNNNN seq=N status=N
#   unbind seq=N
#   closed
#   error reason="..."
#
# Values are quoted as in esme.pl: bare when non-empty printable ASCII
# without spaces, double quotes or backslashes, else double-quoted with
# \", \\ and \xNN escapes (Go's strconv.Unquote syntax).
#
# The receipt is a deliver_sm with esm_class 0x04, the usual text
# "id:ID sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm
# stat:DELIVRD err:000 text:FIRST20", and the receipted_message_id and
# message_state (2, DELIVERED) TLVs. The MO goes from the submitted
# message's destination to its source with --mo-text.
#
# Options:
#   --host=ADDR        listen address (default 127.0.0.1)
#   --port=N           listen port (default 0)
#   --system-id=ID     system_id in bind responses (default NetSMPP)
#   --password=PW      refuse binds with another password with
#                      ESME_RINVPASWD (default: accept any)
#   --mo-text=TEXT     text of the MO deliver_sm (default STOP)
#   --timeout=SECONDS  longest wait for a connection or a PDU (default 10)
#
# Exit status: 0 after an unbind with every deliver_sm answered, or when the
# ESME hangs up without ever binding; 1 otherwise; 2 bad usage.

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use IO::Select;
use Net::SMPP;
use POSIX qw(strftime);

$| = 1;

my %opt = (
    host        => '127.0.0.1',
    port        => 0,
    'system-id' => 'NetSMPP',
    'mo-text'   => 'STOP',
    timeout     => 10,
);
GetOptions(\%opt, 'host=s', 'port=i', 'system-id=s', 'password=s', 'mo-text=s',
           'timeout=i')
    && !@ARGV
    or do {
        print STDERR "usage: $0 [options]\n";
        exit 2;
    };

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

my %bind_resp = (
    Net::SMPP::CMD_bind_transceiver, ['bind_transceiver', 'bind_transceiver_resp'],
    Net::SMPP::CMD_bind_transmitter, ['bind_transmitter', 'bind_transmitter_resp'],
    Net::SMPP::CMD_bind_receiver,    ['bind_receiver',    'bind_receiver_resp'],
);

my $listener = Net::SMPP->new_listen($opt{host}, port => $opt{port},
                                     timeout => $opt{timeout})
    or fail("listen $opt{host}:$opt{port}: $!");
emit('listening', port => $listener->sockport);

my $smpp = $listener->accept() or fail("accept: $!");
close $listener;

my $bound = 0;
my $next_id = 0;
my %pending;    # sequence number of each deliver_sm we sent => kind

while (1) {
    if (!IO::Select->new($smpp)->can_read($opt{timeout})) {
        fail('timeout waiting for a PDU');
    }
    my $pdu = $smpp->read_pdu();
    if (!$pdu) {
        # Hung up. Fine before any bind (e.g. after a refused one), not
        # in the middle of a bound session.
        emit('closed');
        exit($bound ? 1 : 0);
    }
    my ($cmd, $seq) = ($pdu->{cmd}, $pdu->{seq});

    if (my $b = $bind_resp{$cmd}) {
        my ($name, $resp) = @$b;
        emit('bind', cmd => $name, system_id => $pdu->{system_id},
             password => $pdu->{password}, system_type => $pdu->{system_type},
             interface_version => $pdu->{interface_version});
        if ($bound) {
            $smpp->$resp(seq => $seq, status => 0x05, system_id => $opt{'system-id'});
        } elsif (defined $opt{password} && $pdu->{password} ne $opt{password}) {
            emit('bind_refused', status => 0x0e, code => status_code(0x0e));
            $smpp->$resp(seq => $seq, status => 0x0e, system_id => $opt{'system-id'});
        } else {
            $smpp->$resp(seq => $seq, system_id => $opt{'system-id'});
            $bound = 1;
        }
    } elsif ($cmd == Net::SMPP::CMD_submit_sm) {
        if (!$bound) {
            $smpp->submit_sm_resp(seq => $seq, status => 0x04, message_id => '');
            emit('unexpected', cmd => sprintf('0x%08x', $cmd), seq => $seq, status => 0);
            next;
        }
        my $id = sprintf('4e53%06x', ++$next_id);
        emit('submit', seq => $seq, id => $id, source => $pdu->{source_addr},
             dest => $pdu->{destination_addr}, esm_class => $pdu->{esm_class},
             registered_delivery => $pdu->{registered_delivery},
             data_coding => $pdu->{data_coding}, text => $pdu->{short_message});
        $smpp->submit_sm_resp(seq => $seq, message_id => $id);

        my $date = strftime('%y%m%d%H%M', gmtime);
        my $receipt = "id:$id sub:001 dlvrd:001 submit date:$date done date:$date"
            . " stat:DELIVRD err:000 text:" . substr($pdu->{short_message}, 0, 20);
        my $rseq = $smpp->deliver_sm(
            async                => 1,
            source_addr_ton      => $pdu->{dest_addr_ton},
            source_addr_npi      => $pdu->{dest_addr_npi},
            source_addr          => $pdu->{destination_addr},
            dest_addr_ton        => $pdu->{source_addr_ton},
            dest_addr_npi        => $pdu->{source_addr_npi},
            destination_addr     => $pdu->{source_addr},
            esm_class            => 0x04,
            short_message        => $receipt,
            # Optional parameters go by name, in this order; Net::SMPP
            # takes their values as raw octets.
            receipted_message_id => "$id\0",
            message_state        => pack('C', 2),
        );
        $pending{$rseq} = 'receipt';
        my $mseq = $smpp->deliver_sm(
            async            => 1,
            source_addr_ton  => $pdu->{dest_addr_ton},
            source_addr_npi  => $pdu->{dest_addr_npi},
            source_addr      => $pdu->{destination_addr},
            dest_addr_ton    => $pdu->{source_addr_ton},
            dest_addr_npi    => $pdu->{source_addr_npi},
            destination_addr => $pdu->{source_addr},
            esm_class        => 0x00,
            short_message    => $opt{'mo-text'},
        );
        $pending{$mseq} = 'mo';
    } elsif ($cmd == Net::SMPP::CMD_deliver_sm_resp) {
        my $kind = delete $pending{$seq};
        if (!defined $kind) {
            emit('unexpected', cmd => sprintf('0x%08x', $cmd), seq => $seq,
                 status => $pdu->{status});
            next;
        }
        emit('deliver_resp', seq => $seq, kind => $kind, status => $pdu->{status},
             message_id => $pdu->{message_id});
    } elsif ($cmd == Net::SMPP::CMD_enquire_link) {
        $smpp->enquire_link_resp(seq => $seq);
        emit('enquire_link', seq => $seq);
    } elsif ($cmd == Net::SMPP::CMD_unbind) {
        emit('unbind', seq => $seq);
        $smpp->unbind_resp(seq => $seq);
        close $smpp;
        fail('unbind with unanswered deliver_sm: ' . join(',', sort values %pending))
            if %pending;
        exit 0;
    } else {
        emit('unexpected', cmd => sprintf('0x%08x', $cmd), seq => $seq,
             status => $pdu->{status});
        $smpp->generic_nack(seq => $seq, status => 0x03)
            unless $cmd & 0x80000000;
    }
}
