package spool

import (
	"encoding/binary"
	"hash/crc32"
)

// Frame layout (little endian), followed by the payload:
//
//	0  magic   [4]byte  F5 53 50 01
//	4  length  uint32   payload length
//	8  seq     uint64   sequence number in the record's priority queue
//	16 time    int64    Unix nanoseconds when the record was put
//	24 crc     uint32   CRC-32C (Castagnoli) of bytes 0..23 and the payload
const (
	headerSize = 28
	// hardMaxRecord bounds the payload length of any frame, whatever the
	// options: a header claiming more is garbage.
	hardMaxRecord = 1 << 20
	// maxSeq bounds sequence numbers so that seq+1 never overflows; a frame
	// claiming more is garbage.
	maxSeq = 1 << 62
)

// magic starts every frame. 0xF5 never occurs in UTF-8 text, so scanning a
// JSON payload for the next frame finds no false candidates.
var magic = [4]byte{0xF5, 'S', 'P', 0x01}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends the frame of payload to dst.
func appendFrame(dst []byte, seq uint64, unixNano int64, payload []byte) []byte {
	var h [headerSize]byte
	copy(h[0:4], magic[:])
	binary.LittleEndian.PutUint32(h[4:8], uint32(len(payload)))
	binary.LittleEndian.PutUint64(h[8:16], seq)
	binary.LittleEndian.PutUint64(h[16:24], uint64(unixNano))
	crc := crc32.Update(crc32.Checksum(h[:24], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(h[24:28], crc)
	dst = append(dst, h[:]...)
	return append(dst, payload...)
}

// header is a decoded frame header.
type header struct {
	length   uint32
	seq      uint64
	unixNano int64
	crc      uint32
}

// parseHeader decodes b[:headerSize]; ok is false when the magic is wrong or
// a field is out of range.
func parseHeader(b []byte) (h header, ok bool) {
	if len(b) < headerSize || [4]byte(b[0:4]) != magic {
		return header{}, false
	}
	h = header{
		length:   binary.LittleEndian.Uint32(b[4:8]),
		seq:      binary.LittleEndian.Uint64(b[8:16]),
		unixNano: int64(binary.LittleEndian.Uint64(b[16:24])),
		crc:      binary.LittleEndian.Uint32(b[24:28]),
	}
	if h.length > hardMaxRecord || h.seq == 0 || h.seq >= maxSeq {
		return header{}, false
	}
	return h, true
}

// checkFrame reports whether frame (header and payload) has a valid CRC.
func checkFrame(h header, frame []byte) bool {
	if len(frame) != headerSize+int(h.length) {
		return false
	}
	crc := crc32.Update(crc32.Checksum(frame[:24], castagnoli), castagnoli, frame[headerSize:])
	return crc == h.crc
}
