//! Node device procedures. Devices travel by name (`remote_nonnull_string`
//! in the arguments, `remote_nonnull_node_device` in replies).

use super::limits::{NODE_DEVICE_CAPS_LIST_MAX, NODE_DEVICE_LIST_MAX};
use super::objects::NonnullNodeDevice;
use crate::xdr_struct;

xdr_struct! {
    pub struct NodeNumOfDevicesArgs {
        pub cap: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Reply of NODE_NUM_OF_DEVICES and NODE_DEVICE_NUM_OF_CAPS.
    pub struct NodeDeviceNumRet {
        pub num: i32,
    }
}

xdr_struct! {
    pub struct NodeListDevicesArgs {
        pub cap: Option<String>,
        pub maxnames: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeListDevicesRet {
        pub names: Vec<String> [NODE_DEVICE_LIST_MAX],
    }
}

xdr_struct! {
    /// Arguments of the calls that take only a device name.
    pub struct NodeDeviceNameArgs {
        pub name: String,
    }
}

xdr_struct! {
    /// Reply of LOOKUP_BY_NAME, CREATE_XML and DEFINE_XML.
    pub struct NodeDeviceRefRet {
        pub dev: NonnullNodeDevice,
    }
}

xdr_struct! {
    /// Arguments of GET_XML_DESC, UNDEFINE and CREATE.
    pub struct NodeDeviceNameFlagsArgs {
        pub name: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeDeviceGetXmlDescRet {
        pub xml: String,
    }
}

xdr_struct! {
    pub struct NodeDeviceGetParentRet {
        pub parent_name: Option<String>,
    }
}

xdr_struct! {
    pub struct NodeDeviceListCapsArgs {
        pub name: String,
        pub maxnames: i32,
    }
}

xdr_struct! {
    pub struct NodeDeviceListCapsRet {
        pub names: Vec<String> [NODE_DEVICE_CAPS_LIST_MAX],
    }
}

xdr_struct! {
    pub struct NodeDeviceDetachFlagsArgs {
        pub name: String,
        pub driver_name: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    /// Arguments of CREATE_XML and DEFINE_XML.
    pub struct NodeDeviceXmlArgs {
        pub xml_desc: String,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeDeviceSetAutostartArgs {
        pub name: String,
        pub autostart: i32,
    }
}

xdr_struct! {
    /// Reply of GET_AUTOSTART, IS_PERSISTENT and IS_ACTIVE.
    pub struct NodeDeviceFlagRet {
        pub value: i32,
    }
}

xdr_struct! {
    pub struct ConnectListAllNodeDevicesArgs {
        pub need_results: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct ConnectListAllNodeDevicesRet {
        pub devices: Vec<NonnullNodeDevice> [NODE_DEVICE_LIST_MAX],
        pub ret: u32,
    }
}

xdr_struct! {
    pub struct ConnectNodeDeviceEventRegisterAnyArgs {
        pub event_id: i32,
        pub dev: Option<NonnullNodeDevice>,
    }
}

xdr_struct! {
    pub struct ConnectNodeDeviceEventRegisterAnyRet {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct ConnectNodeDeviceEventDeregisterAnyArgs {
        pub callback_id: i32,
    }
}

xdr_struct! {
    pub struct NodeDeviceEventLifecycleMsg {
        pub callback_id: i32,
        pub dev: NonnullNodeDevice,
        pub event: i32,
        pub detail: i32,
    }
}

xdr_struct! {
    pub struct NodeDeviceEventUpdateMsg {
        pub callback_id: i32,
        pub dev: NonnullNodeDevice,
    }
}
