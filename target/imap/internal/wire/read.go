package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
)

// maxLine bounds one response line (without literals).
const maxLine = 64 << 10

// MaxLiteral bounds a literal's announced size: a larger "{n}" is not
// taken for a literal (RFC 3501 numbers are 32-bit; 2 GiB is far beyond
// any message a server stores).
const MaxLiteral = 1<<31 - 1

// ReadResponse reads one response, following any literal ("{n}" or
// "~{n}" at a line end) to the response's real end, and returns its first
// line without CRLF; literal contents are skipped.
func ReadResponse(r *bufio.Reader) (string, error) {
	resp, err := ReadWhole(r, false, nil)
	if err != nil {
		return "", err
	}
	return resp.Lines[0], nil
}

// A Response is one whole server response, split at its literals:
// Lines[i] is the text before literal i (ending with its "{n}" or
// "~{n}" marker), and the last line is the text after the last literal.
type Response struct {
	Lines []string
	Lits  [][]byte // the literals' contents, when kept
}

// litChunk is how much of a kept literal is read between two calls of
// ReadWhole's tick.
const litChunk = 64 << 10

// ReadWhole reads one response with its literals, keeping their contents
// when keep is set. tick, when not nil, is called before each line and
// each litChunk of a literal is read (to push a read deadline on).
func ReadWhole(r *bufio.Reader, keep bool, tick func()) (Response, error) {
	var resp Response
	for {
		if tick != nil {
			tick()
		}
		line, err := readLine(r)
		if err != nil {
			return Response{}, err
		}
		resp.Lines = append(resp.Lines, line)
		n, _, ok := LiteralMarker(line)
		if !ok {
			return resp, nil
		}
		var lit []byte
		if keep {
			lit, err = readLiteral(r, n, tick)
		} else {
			_, err = r.Discard(int(n))
		}
		if err != nil {
			return Response{}, err
		}
		resp.Lits = append(resp.Lits, lit)
	}
}

// readLiteral reads n octets, growing its buffer as they arrive (n comes
// from the server and is not trusted for the allocation).
func readLiteral(r *bufio.Reader, n int64, tick func()) ([]byte, error) {
	var buf bytes.Buffer
	for int64(buf.Len()) < n {
		if tick != nil {
			tick()
		}
		if _, err := io.CopyN(&buf, r, min(litChunk, n-int64(buf.Len()))); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		part, err := r.ReadSlice('\n')
		b = append(b, part...)
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if err != bufio.ErrBufferFull || len(b) > maxLine {
			if err == bufio.ErrBufferFull {
				err = errors.New("response line too long")
			}
			return "", err
		}
	}
}

// LiteralMarker is the one parser of a literal's size: it returns n when
// line ends with a literal's marker, "{n}", "{n+}" or "~{n}" (with n
// decimal digits only, at most MaxLiteral), and where the marker starts
// ("~" included).
func LiteralMarker(line string) (n int64, at int, ok bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, 0, false
	}
	digits := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, 0, false // ParseInt would take a sign
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > MaxLiteral {
		return 0, 0, false
	}
	if i > 0 && line[i-1] == '~' {
		i--
	}
	return n, i, true
}
