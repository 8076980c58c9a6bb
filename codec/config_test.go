package codec

import "testing"

// TestNextNilValidates checks that Next(nil) reports exactly the unusable
// configurations, so that a server can refuse them before accepting.
func TestNextNilValidates(t *testing.T) {
	tests := []struct {
		name    string
		framer  Framer
		wantErr error
	}{
		{name: "length zero value", framer: LengthPrefixed{}},
		{name: "length header size 8", framer: LengthPrefixed{HeaderSize: 8}},
		{name: "length header size 3", framer: LengthPrefixed{HeaderSize: 3}, wantErr: ErrBadFrame},
		{name: "length header size -1", framer: LengthPrefixed{HeaderSize: -1}, wantErr: ErrBadFrame},
		{name: "length negative MaxFrame", framer: LengthPrefixed{MaxFrame: -1}, wantErr: ErrBadFrame},
		{name: "delimited zero value", framer: Delimited{}},
		{name: "delimited negative MaxFrame", framer: Delimited{MaxFrame: -1}, wantErr: ErrBadFrame},
		{name: "fixed size 1", framer: Fixed{Size: 1}},
		{name: "fixed zero value", framer: Fixed{}, wantErr: ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := tt.framer.Next(nil)
			checkErr(t, err, tt.wantErr)
		})
	}
}
