//! Secret procedures and secret events.

use super::limits::{SECRET_LIST_MAX, SECRET_UUID_LIST_MAX, SECRET_VALUE_MAX};
use super::objects::NonnullSecret;
use super::Opaque;
use crate::xdr_struct;

xdr_struct! {
    /// Reply of CONNECT_NUM_OF_SECRETS.
    pub struct ConnectNumOfSecretsRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct ConnectListSecretsArgs {
        pub maxuuids: i32,
    }
}

xdr_struct! {
    pub struct ConnectListSecretsRet {
        pub uuids: Vec<String> [SECRET_UUID_LIST_MAX],
    }
}

xdr_struct! {
    pub struct SecretLookupByUuidArgs {
        pub uuid: [u8; 16],
    }
}

xdr_struct! {
    /// Reply of LOOKUP_BY_UUID, LOOKUP_BY_USAGE and DEFINE_XML.
    pub struct SecretRefRet {
        pub secret: NonnullSecret,
    }
}

xdr_struct! {
    pub struct SecretDefineXmlArgs {
        pub xml: String,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Arguments of GET_XML_DESC and GET_VALUE.
    pub struct SecretFlagsArgs {
        pub secret: NonnullSecret,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct SecretGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct SecretSetValueArgs {
        pub secret: NonnullSecret,
        pub value: Opaque [SECRET_VALUE_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct SecretGetValueRet {
        pub value: Opaque [SECRET_VALUE_MAX],
    }
}

xdr_struct! {
    pub struct SecretUndefineArgs {
        pub secret: NonnullSecret,
    }
}

xdr_struct! {
    pub struct SecretLookupByUsageArgs {
        pub usage_type: i32,
        pub usage_id: String,
    }
}

xdr_struct! {
    pub struct ConnectListAllSecretsArgs {
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllSecretsRet {
        pub secrets: Vec<NonnullSecret> [SECRET_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct ConnectSecretEventRegisterAnyArgs {
        pub event_id: i32,
        pub secret: Option<NonnullSecret>,
    }
}

xdr_struct! {
    pub struct ConnectSecretEventRegisterAnyRet {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct ConnectSecretEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct SecretEventLifecycleMsg {
        pub callback_id: i32,
        pub secret: NonnullSecret,
        pub event: i32,
        pub detail: i32,
    }
}

xdr_struct! {
    pub struct SecretEventValueChangedMsg {
        pub callback_id: i32,
        pub secret: NonnullSecret,
    }
}
