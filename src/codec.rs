//! The protobuf codec of every service and client: prost's, except that a request that
//! does not decode (bad wire format, a string that is not UTF-8) is the caller's error —
//! INVALID_ARGUMENT naming the field, through the one error mapping — not INTERNAL.
//! `build.rs` makes the generated code use it.

use std::marker::PhantomData;

use tonic::{
    Status,
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::error::ApiError;

/// prost encoding, with decode failures reported as INVALID_ARGUMENT.
#[derive(Debug)]
pub struct ValidatingCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for ValidatingCodec<T, U> {
    fn default() -> Self {
        ValidatingCodec(PhantomData)
    }
}

/// The decoder of [`ValidatingCodec`].
#[derive(Debug)]
pub struct ValidatingDecoder<U>(ProstDecoder<U>);

impl<T, U> Codec for ValidatingCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = ValidatingDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        ValidatingDecoder(ProstCodec::<T, U>::raw_decoder(BufferSettings::default()))
    }
}

impl<U: prost::Message + Default> Decoder for ValidatingDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|s| undecodable(s.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// The field a prost decode error names (`Message.field: why` → `field`), or the message.
fn undecodable(detail: &str) -> Status {
    let detail = detail
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(detail);
    let (field, why) = match detail.split_once(": ") {
        Some((path, why)) => (
            path.split_once('.').map_or(path, |(_, f)| f).to_owned(),
            why.to_owned(),
        ),
        None => ("request".to_owned(), detail.to_owned()),
    };
    ApiError::invalid(
        &field,
        format!("could not be decoded ({why}); send valid protobuf with UTF-8 strings"),
    )
    .into_status()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_string_names_its_field() {
        let s = undecodable(
            "failed to decode Protobuf message: SuggestNeedsRequest.text: invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        assert!(s.message().contains("text"), "{}", s.message());
    }
}
