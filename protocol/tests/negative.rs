//! Malformed input must be rejected with the right error and without large
//! allocations.

use protocol::frame::{message_len, split_message, FrameDecoder, FrameError, MAX_MESSAGE_LEN};
use protocol::remote::{
    limits, AuthListRet, CharArray, ConnectListAllDomainsRet, ConnectOpenArgs, DomainGetInfoRet,
    DomainGetMessagesRet, NodeGetSecurityModelRet,
};
use protocol::xdr::{
    decode_array, from_bytes, from_bytes_exact, put_u32, Decoder, XdrBounded, STRING_MAX,
};
use protocol::{admin, RemoteError, TypedParam, XdrError};

fn words(ws: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    for &w in ws {
        put_u32(&mut out, w);
    }
    out
}

#[test]
fn truncated_input_is_reported() {
    assert_eq!(from_bytes::<u32>(&[0, 0, 1]), Err(XdrError::Truncated));
    assert_eq!(from_bytes::<u64>(&[0; 7]), Err(XdrError::Truncated));
    // A string whose length word promises more bytes than follow.
    assert_eq!(
        from_bytes::<String>(&words(&[8, 0x6c76_702d])),
        Err(XdrError::Truncated)
    );
    // Optional present but value missing.
    assert_eq!(
        from_bytes::<ConnectOpenArgs>(&words(&[1])),
        Err(XdrError::Truncated)
    );
    // Every proper prefix of a valid error body fails.
    let full = protocol::xdr::to_bytes(&RemoteError::new(42, 10, "Domain not found"));
    for n in 0..full.len() {
        assert!(
            from_bytes::<RemoteError>(&full[..n]).is_err(),
            "prefix {n} decoded"
        );
    }
}

#[test]
fn counts_above_maxima_fail_before_allocating() {
    let huge = words(&[0xffff_ffff]);
    assert_eq!(
        from_bytes::<ConnectListAllDomainsRet>(&huge),
        Err(XdrError::TooLong {
            what: "array",
            len: 0xffff_ffff,
            max: limits::DOMAIN_LIST_MAX
        })
    );
    assert!(matches!(
        from_bytes::<AuthListRet>(&words(&[21])),
        Err(XdrError::TooLong {
            len: 21,
            max: 20,
            ..
        })
    ));
    assert!(matches!(
        from_bytes::<DomainGetMessagesRet>(&words(&[2049])),
        Err(XdrError::TooLong { max: 2048, .. })
    ));
    assert!(matches!(
        from_bytes::<admin::ServerGetThreadpoolParametersRet>(&words(&[33])),
        Err(XdrError::TooLong { max: 32, .. })
    ));
    // A count at the maximum with no elements is merely truncated.
    assert_eq!(
        decode_array::<TypedParam>(&mut Decoder::new(&words(&[16])), 16),
        Err(XdrError::Truncated)
    );
    assert!(matches!(
        from_bytes::<NodeGetSecurityModelRet>(&words(&[258])),
        Err(XdrError::TooLong { max: 257, .. })
    ));
}

#[test]
fn string_over_four_mib_is_rejected() {
    let len = (STRING_MAX + 1) as u32;
    assert_eq!(
        from_bytes::<String>(&words(&[len])),
        Err(XdrError::TooLong {
            what: "string",
            len: STRING_MAX + 1,
            max: STRING_MAX
        })
    );
    // Exactly the maximum is accepted.
    let mut ok = words(&[STRING_MAX as u32]);
    ok.resize(4 + STRING_MAX, b'x');
    assert_eq!(from_bytes::<String>(&ok).map(|s| s.len()), Ok(STRING_MAX));
}

#[test]
fn bad_words_are_rejected() {
    assert_eq!(from_bytes::<bool>(&words(&[2])), Err(XdrError::BadBool(2)));
    assert_eq!(
        from_bytes::<Option<u32>>(&words(&[7, 0])),
        Err(XdrError::BadBool(7))
    );
    let mut param = protocol::xdr::to_bytes(&"f".to_string());
    param.extend(words(&[0, 0]));
    assert_eq!(
        from_bytes::<TypedParam>(&param),
        Err(XdrError::BadDiscriminant(0))
    );
    // unsigned char / unsigned short sent as words must fit.
    let mut info = words(&[256]);
    info.extend([0u8; 28]);
    assert!(matches!(
        from_bytes::<DomainGetInfoRet>(&info),
        Err(XdrError::OutOfRange { value: 256, .. })
    ));
    assert!(matches!(
        CharArray::decode_bounded(&mut Decoder::new(&words(&[1, 0x100])), 8),
        Err(XdrError::OutOfRange { .. })
    ));
}

#[test]
fn padding_and_utf8_are_checked() {
    // "abc" with a non-zero pad byte.
    assert_eq!(
        from_bytes::<String>(&[0, 0, 0, 3, b'a', b'b', b'c', 1]),
        Err(XdrError::NonZeroPadding)
    );
    assert_eq!(
        from_bytes::<String>(&[0, 0, 0, 2, 0xc3, 0x28, 0, 0]),
        Err(XdrError::NotUtf8)
    );
}

#[test]
fn trailing_bytes_are_ignored_or_reported_on_request() {
    let bytes = words(&[5, 6]);
    assert_eq!(from_bytes::<u32>(&bytes), Ok(5));
    assert_eq!(
        from_bytes_exact::<u32>(&bytes),
        Err(XdrError::TrailingBytes(4))
    );
}

#[test]
fn length_word_limits() {
    for bad in [0u32, 3, 27] {
        assert_eq!(
            message_len(bad.to_be_bytes()),
            Err(FrameError::TooShort(bad))
        );
    }
    for bad in [MAX_MESSAGE_LEN as u32 + 1, 32 * 1024 * 1024 + 8, u32::MAX] {
        assert_eq!(
            message_len(bad.to_be_bytes()),
            Err(FrameError::TooLong(bad))
        );
    }
    assert_eq!(
        message_len((MAX_MESSAGE_LEN as u32).to_be_bytes()),
        Ok(MAX_MESSAGE_LEN)
    );

    let mut dec = FrameDecoder::new();
    dec.push(&27u32.to_be_bytes());
    assert_eq!(dec.next_message(), Err(FrameError::TooShort(27)));

    let mut short = 40u32.to_be_bytes().to_vec();
    short.extend([0u8; 24]);
    assert_eq!(
        split_message(&short),
        Err(FrameError::Incomplete {
            declared: 40,
            available: 28
        })
    );
    assert!(split_message(&[0, 0]).is_err());
}

#[test]
fn frame_decoder_does_not_preallocate_declared_length() {
    // A legal but huge length word with only a few bytes behind it.
    let mut dec = FrameDecoder::new();
    dec.push(&(MAX_MESSAGE_LEN as u32).to_be_bytes());
    dec.push(&[0u8; 24]);
    assert_eq!(dec.next_message(), Ok(None));
    assert_eq!(dec.buffered(), 28);
}
