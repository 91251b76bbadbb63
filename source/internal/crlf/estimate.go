package crlf

// Estimate returns an estimate of the length Reader gives for n bytes
// read from a mail file: n plus 1/32 of n for the CRs it adds. The real
// length lies between n (CRLF line endings already, or no LF) and 2n
// (every byte an LF); it exceeds the estimate only when the lines with a
// bare LF average fewer than 32 bytes, which mail rarely does (messages
// made of text and base64 lines add 1.3 to 2.2%). Sources give it as
// source.Ref.SizeEstimate.
func Estimate(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return n + n/32
}
