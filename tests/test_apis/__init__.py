# Copyright (c) mmmim contributors. All rights reserved.
