"""ONVIF cameras: resolve streams from the camera's address, PTZ, camera-side events, discovery.

The client is ``onvif-zeep-async`` (the one Home Assistant uses). It is imported only by the
modules that talk to a camera, so an engine without ONVIF cameras never loads zeep.
"""
